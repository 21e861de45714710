package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// span is one CONSUMER span per delivery, a child of the job message's traceparent, exported as OTLP/HTTP
// JSON by hand (Debian's Go OpenTelemetry 1.1.0 has no OTLP exporter).
type span struct {
	traceID, spanID, parentID, flags, name, err string
	attrs                                       map[string]any
	start                                       time.Time
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newSpan(traceparent, name string, attrs map[string]any) *span {
	s := &span{spanID: randHex(8), name: name, attrs: attrs, start: time.Now(), flags: "01"}
	p := strings.Split(traceparent, "-")
	if len(p) == 4 && len(p[1]) == 32 && len(p[2]) == 16 {
		s.traceID, s.parentID, s.flags = p[1], p[2], p[3]
	} else {
		s.traceID = randHex(16)
	}
	return s
}

func (s *span) traceparent() string { return "00-" + s.traceID + "-" + s.spanID + "-" + s.flags }

func (s *span) export(endpoint, service string) {
	attrs := []any{}
	for k, v := range s.attrs {
		val := map[string]any{"stringValue": v}
		if n, ok := v.(int64); ok {
			val = map[string]any{"intValue": strconv.FormatInt(n, 10)}
		}
		attrs = append(attrs, map[string]any{"key": k, "value": val})
	}
	status := map[string]any{"code": 1}
	if s.err != "" {
		status = map[string]any{"code": 2, "message": s.err}
	}
	body, _ := json.Marshal(map[string]any{"resourceSpans": []any{map[string]any{
		"resource": map[string]any{"attributes": []any{map[string]any{"key": "service.name", "value": map[string]any{"stringValue": service}}}},
		"scopeSpans": []any{map[string]any{"scope": map[string]any{"name": "jetbus-go"}, "spans": []any{map[string]any{
			"traceId": s.traceID, "spanId": s.spanID, "parentSpanId": s.parentID, "name": s.name, "kind": 5,
			"startTimeUnixNano": strconv.FormatInt(s.start.UnixNano(), 10), "endTimeUnixNano": strconv.FormatInt(time.Now().UnixNano(), 10),
			"attributes": attrs, "status": status}}}}}}})
	client := http.Client{Timeout: 2 * time.Second}
	res, err := client.Post(strings.TrimRight(endpoint, "/")+"/v1/traces", "application/json", bytes.NewReader(body))
	if err != nil { // a collector that is down never stops a job
		log.Printf("otlp export failed: %v", err)
		return
	}
	res.Body.Close()
}
