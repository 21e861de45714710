package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

func (w *Worker) publish(subject string, body any, msgID string, h nats.Header) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	for k, v := range h {
		msg.Header[k] = v
	}
	_, err = w.js.PublishMsg(msg, nats.MsgId(msgID)) // waits for the PubAck
	return err
}

// publishLater is the one place that knows how to wait before a job runs (retry backoff, release, not due).
// Up to holdMs: on the jobs subject with not_before, and whoever receives it holds it. Longer: a Nats-Schedule
// message on its own jetbus.wait.… subject that the server fires into jetbus.due.… (which the jobs stream
// sources) 300 ms early; the receiving worker holds the rest.
func (w *Worker) publishLater(raw map[string]json.RawMessage, waitMs int64, msgID string, trace nats.Header) error {
	next := map[string]json.RawMessage{}
	for k, v := range raw {
		next[k] = v
	}
	delete(next, "not_before")
	var q, t string
	_ = json.Unmarshal(raw["queue"], &q)
	_ = json.Unmarshal(raw["type"], &t)
	if waitMs <= 0 {
		return w.publish("jetbus.jobs."+q+"."+t, next, msgID, trace)
	}
	due := nowMs() + waitMs
	next["not_before"], _ = json.Marshal(due)
	h := nats.Header{}
	for k, v := range trace {
		h[k] = v
	}
	h.Set("Jetbus-Not-Before", strconv.FormatInt(due, 10))
	if waitMs <= holdMs {
		return w.publish("jetbus.jobs."+q+"."+t, next, msgID, h)
	}
	h.Set("Nats-Schedule", "@at "+time.UnixMilli(due-300).UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	h.Set("Nats-Schedule-Target", "jetbus.due."+q+"."+t)
	token := unsafeToken.ReplaceAllString(msgID, "_") // one subject per schedule: a second would replace it
	return w.publish("jetbus.wait."+q+"."+t+"."+token, next, msgID, h)
}

var unsafeToken = regexp.MustCompile(`[^A-Za-z0-9_@-]`)

// attemptOf: failed runs before this message, plus redeliveries (each means an earlier holder died mid-run).
func (w *Worker) attemptOf(env *envelope, delivered int64) int64 { return *env.Attempt + delivered - 1 }

func decodeEnvelope(data []byte) (*envelope, map[string]json.RawMessage, error) {
	var env envelope
	var raw map[string]json.RawMessage // kept whole: republished envelopes keep every field, known or not
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, nil, fmt.Errorf("not a job envelope: %v", err)
	}
	if env.V != 1 || env.JobID == "" || env.DispatchID == "" || env.Type == "" || env.Queue == "" || env.Attempt == nil {
		return nil, nil, errors.New("not a v1 job envelope")
	}
	return &env, raw, nil
}

func (w *Worker) process(m *nats.Msg) error {
	md, err := m.Metadata()
	if err != nil {
		return err
	}
	seq, delivered := md.Sequence.Stream, int64(md.NumDelivered)
	trace := nats.Header{}
	for _, k := range []string{"traceparent", "tracestate"} {
		if v := m.Header.Get(k); v != "" {
			trace.Set(k, v)
		}
	}
	env, raw, err := decodeEnvelope(m.Data)
	if err != nil { // step 1: never leave a bad message unacked
		if err := w.publish("jetbus.dlq._invalid."+w.id, map[string]any{"v": 1, "reason": "malformed",
			"raw": string(m.Data), "source_subject": m.Subject, "attempts": delivered, "failed_at": nowMs(),
			"error": map[string]any{"code": "MALFORMED", "message": err.Error(), "retryable": false}},
			fmt.Sprintf("dlq-%s-%d", jobsStream, seq), nil); err != nil {
			return err
		}
		return m.Ack()
	}
	attempt, retry, started := w.attemptOf(env, delivered), env.Options.Retry, nowMs()
	span := newSpan(trace.Get("traceparent"), "process jetbus.jobs."+env.Queue+"."+env.Type, map[string]any{
		"messaging.system": "nats", "messaging.operation.type": "process", "messaging.destination.name": m.Subject,
		"jetbus.dispatch_id": env.DispatchID, "jetbus.job_type": env.Type, "jetbus.queue": env.Queue, "jetbus.attempt": attempt})
	own := trace
	if w.otlp != "" {
		own = nats.Header{}
		own.Set("traceparent", span.traceparent())
		if ts := trace.Get("tracestate"); ts != "" {
			own.Set("tracestate", ts)
		}
		defer func() { span.export(w.otlp, w.service) }()
	}
	outcome := func(status string, att int64, extra map[string]any) map[string]any {
		o := map[string]any{"job_id": env.JobID, "dispatch_id": env.DispatchID, "type": env.Type, "queue": env.Queue,
			"attempt": att, "status": status, "started_at": started, "finished_at": nowMs()}
		for k := range own {
			o[k] = own.Get(k)
		}
		for _, k := range []string{"chain", "batch", "replay"} {
			if v, ok := raw[k]; ok {
				o[k] = v
			}
		}
		if env.Callback != nil {
			o["callback"] = env.Callback
		}
		for k, v := range extra {
			o[k] = v
		}
		return o
	}
	// The outcome stored (PubAck awaited), then the ack: a crash in between redelivers the job.
	settle := func(o map[string]any) error {
		id := fmt.Sprintf("%s@o%d.%d", env.JobID, seq, delivered) // reused if this publish is retried
		if err := w.publish("jetbus.outcomes."+w.id, map[string]any{"v": 1, "outcomes": []any{o}}, id, nil); err != nil {
			return err
		}
		fmt.Printf("%s attempt %v: %s\n", env.JobID, o["attempt"], o["status"])
		return m.Ack()
	}
	deadLetter := func(reason string, jobErr map[string]any, attempts int64) error {
		letter := map[string]json.RawMessage{}
		for k, v := range raw {
			letter[k] = v
		}
		if reason != "worker_died" {
			letter["attempt"], _ = json.Marshal(attempt)
		}
		return w.publish(deadLetterSubject(env), map[string]any{"v": 1, "reason": reason, "envelope": letter,
			"source_subject": m.Subject, "error": jobErr, "attempts": attempts, "failed_at": nowMs()},
			fmt.Sprintf("dlq-%s-%d", jobsStream, seq), nil)
	}

	w.mu.Lock()
	skip := env.Batch != nil && env.Callback == nil && w.cancelled[env.Batch.ID]
	w.mu.Unlock()
	if skip { // step 2
		return settle(outcome("skipped", attempt, nil))
	}
	if wait := env.NotBefore - nowMs(); wait > holdMs { // step 3
		if err := w.publishLater(raw, wait, fmt.Sprintf("%s@w%d", env.JobID, seq), trace); err != nil {
			return err
		}
		return m.Ack()
	} else if wait > 0 {
		_, _ = w.keepAlive(m, 0, func(context.Context) (any, error) {
			time.Sleep(time.Duration(wait) * time.Millisecond)
			return nil, nil
		})
	}
	if attempt > retry { // step 5: every earlier holder died mid-run
		jobErr := map[string]any{"code": "WORKER_DIED", "message": fmt.Sprintf("delivered %d times, never finished", attempt), "retryable": false}
		if err := deadLetter("worker_died", jobErr, attempt); err != nil {
			return err
		}
		return settle(outcome("failed", retry, map[string]any{"error": jobErr}))
	}
	result, err := w.keepAlive(m, env.Options.TimeoutMs, func(ctx context.Context) (any, error) { // step 6
		return w.handler(ctx, &Job{Payload: raw["payload"], Attempt: attempt, Env: raw})
	})
	if errors.Is(err, ErrVanish) {
		return nil // as a dead worker: no outcome, no ack, and keepAlive stopped the +WPI
	}
	if err == nil { // step 7
		extra := map[string]any{}
		if result != nil {
			extra["result"] = result
		}
		return settle(outcome("succeeded", attempt, extra))
	}
	code := "HANDLER_ERROR"
	var je *JobError
	if errors.As(err, &je) {
		code = je.Code
	} else if errors.Is(err, context.DeadlineExceeded) {
		code = "TIMEOUT"
	}
	jobErr := map[string]any{"code": code, "message": err.Error(), "retryable": code != "PERMANENT"}
	span.err = code + ": " + err.Error()
	if code == "PERMANENT" || attempt >= retry { // step 9
		reason := "exhausted"
		if code == "PERMANENT" {
			reason = "permanent"
		}
		if err := deadLetter(reason, jobErr, attempt+1); err != nil {
			return err
		}
		return settle(outcome("failed", attempt, map[string]any{"error": jobErr}))
	}
	next := map[string]json.RawMessage{} // step 8
	for k, v := range raw {
		next[k] = v
	}
	next["attempt"], _ = json.Marshal(attempt + 1)
	if err := w.publishLater(next, env.Options.BackoffMs, fmt.Sprintf("%s@a%d", env.JobID, seq), trace); err != nil {
		return err
	}
	return settle(outcome("retried", attempt, map[string]any{"error": jobErr}))
}

// keepAlive runs fn while sending +WPI every ack wait / 3; past timeoutMs (0 = none) it stops waiting and
// returns context.DeadlineExceeded (fn is told through its ctx).
func (w *Worker) keepAlive(m *nats.Msg, timeoutMs int64, fn func(context.Context) (any, error)) (any, error) {
	ctx, cancel := context.WithCancel(context.Background())
	if timeoutMs > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), time.Duration(timeoutMs)*time.Millisecond)
	}
	defer cancel()
	type res struct {
		v   any
		err error
	}
	done := make(chan res, 1)
	go func() { v, err := fn(ctx); done <- res{v, err} }()
	tick := time.NewTicker(w.ackWait / 3)
	defer tick.Stop()
	for {
		select {
		case r := <-done:
			return r.v, r.err
		case <-ctx.Done():
			return nil, context.DeadlineExceeded
		case <-tick.C:
			_ = m.InProgress()
		}
	}
}

// deadLetterSubject is jetbus.dlq.<queue>.<type>, with "@<workflow id>" before the type for a chain's or batch's
// job (a member, a node or a callback), so a console can select one batch's failures (protocol §2, dead letters).
func deadLetterSubject(env *envelope) string {
	wf := ""
	switch {
	case env.Batch != nil:
		wf = env.Batch.ID
	case env.Chain != nil:
		wf = env.Chain.ID
	case env.Callback != nil:
		wf = env.Callback.WorkflowID
	}
	if wf == "" {
		return "jetbus.dlq." + env.Queue + "." + env.Type
	}
	return "jetbus.dlq." + env.Queue + ".@" + wf + "." + env.Type
}
