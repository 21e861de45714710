package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

const jobsStream = "JETBUS_JOBS"

// holdMs: a job due within this long is held (heart-beating), not parked.
const holdMs = 1000

// Job is what a handler gets: the payload, the attempt (0-based) and the whole envelope.
type Job struct {
	Payload json.RawMessage
	Attempt int64
	Env     map[string]json.RawMessage
}

// Handler runs one attempt; ctx ends at the job's timeout.
type Handler func(ctx context.Context, job *Job) (any, error)

// JobError is a failure with a code (PERMANENT ends retries).
type JobError struct{ Code, Message string }

func (e *JobError) Error() string { return e.Message }

// ErrVanish makes the worker behave as one that died mid-run: no outcome, no ack, no more +WPI.
var ErrVanish = errors.New("vanish")

type envelope struct {
	V          int    `json:"v"`
	JobID      string `json:"job_id"`
	DispatchID string `json:"dispatch_id"`
	Type       string `json:"type"`
	Queue      string `json:"queue"`
	Attempt    *int64 `json:"attempt"`
	NotBefore  int64  `json:"not_before"`
	Options    struct {
		TimeoutMs int64 `json:"timeout_ms"`
		Retry     int64 `json:"retry"`
		BackoffMs int64 `json:"backoff_ms"`
	} `json:"options"`
	Batch *struct {
		ID string `json:"id"`
	} `json:"batch"`
	Chain *struct {
		ID string `json:"id"`
	} `json:"chain"`
	Callback *struct {
		Kind       string `json:"kind"`
		Workflow   string `json:"workflow"`
		WorkflowID string `json:"workflow_id"`
	} `json:"callback"`
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// ConsumerName is the one durable consumer every worker of (queue, type) shares.
func ConsumerName(queue, typ string) string {
	readable := unsafeChars.ReplaceAllString(typ, "-")
	if len(readable) > 48 {
		readable = readable[:48]
	}
	sum := sha256.Sum256([]byte(queue + "\x00" + typ))
	return fmt.Sprintf("jobs-%s-%s-%s", queue, readable, hex.EncodeToString(sum[:])[:10])
}

func nowMs() int64 { return time.Now().UnixMilli() }

func newID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

func envInt(key string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(key), 10, 64); err == nil {
		return v
	}
	return def
}

// Worker serves one (queue, type), one job at a time.
type Worker struct {
	nc                   *nats.Conn
	js                   nats.JetStreamContext
	queue, typ, id, name string
	handler              Handler
	ackWait, heartbeat   time.Duration
	maxAckPending        int
	otlp, service        string
	mu                   sync.Mutex
	cancelled            map[string]bool
	stop                 chan struct{}
	stopOnce             sync.Once
}

func NewWorker(nc *nats.Conn, queue, typ string, h Handler) (*Worker, error) {
	js, err := nc.JetStream()
	if err != nil {
		return nil, err
	}
	service := os.Getenv("OTEL_SERVICE_NAME")
	if service == "" {
		service = "jetbus-go-worker"
	}
	return &Worker{nc: nc, js: js, queue: queue, typ: typ, id: newID("go"), name: ConsumerName(queue, typ), handler: h,
		ackWait:       time.Duration(envInt("JETBUS_ACK_WAIT_MS", 10000)) * time.Millisecond,
		heartbeat:     time.Duration(envInt("JETBUS_WORKER_HEARTBEAT_MS", 5000)) * time.Millisecond,
		maxAckPending: int(envInt("JETBUS_MAX_ACK_PENDING", 10000)),
		otlp:          os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), service: service,
		cancelled: map[string]bool{}, stop: make(chan struct{})}, nil
}

// waitForStream: the jetbus services create the streams; a worker that starts first waits for them.
func (w *Worker) waitForStream(name string) error {
	for {
		_, err := w.js.StreamInfo(name)
		if !errors.Is(err, nats.ErrStreamNotFound) {
			return err
		}
		log.Printf("waiting for stream %s (start a jetbus dispatcher)", name)
		select {
		case <-w.stop:
			return errors.New("stopped")
		case <-time.After(time.Second):
		}
	}
}

// bind reads the consumer first and creates it only if missing, with exactly the documented configuration.
func (w *Worker) bind() (*nats.Subscription, error) {
	subject := "jetbus.jobs." + w.queue + "." + w.typ
	info, err := w.js.ConsumerInfo(jobsStream, w.name)
	if errors.Is(err, nats.ErrConsumerNotFound) {
		info, err = w.js.AddConsumer(jobsStream, &nats.ConsumerConfig{Durable: w.name, FilterSubject: subject,
			AckPolicy: nats.AckExplicitPolicy, DeliverPolicy: nats.DeliverAllPolicy, AckWait: w.ackWait,
			MaxDeliver: -1, MaxAckPending: w.maxAckPending})
		if err != nil { // another worker created it meanwhile
			info, err = w.js.ConsumerInfo(jobsStream, w.name)
		}
	}
	if err != nil {
		return nil, err
	}
	w.ackWait = info.Config.AckWait // heartbeat by the consumer's real ack wait
	return w.js.PullSubscribe(subject, w.name, nats.Bind(jobsStream, w.name))
}

func (w *Worker) record(started int64) []byte {
	host, _ := os.Hostname()
	b, _ := json.Marshal(map[string]any{"v": 1, "id": w.id, "host": host, "pid": os.Getpid(), "started_at": started,
		"heartbeat_at": nowMs(), "heartbeat_ms": w.heartbeat.Milliseconds(),
		"serves": []any{map[string]any{"queue": w.queue, "type": w.typ, "concurrency": 1}}})
	return b
}

// registry keeps this worker's record in KV jetbus-workers: without a live one, workflows waiting on the
// type fail with NO_WORKER.
func (w *Worker) registry(kv nats.KeyValue) {
	started := nowMs()
	for {
		if _, err := kv.Put(w.id, w.record(started)); err != nil {
			log.Printf("registry heartbeat failed: %v", err)
		}
		select {
		case <-w.stop:
			return
		case <-time.After(w.heartbeat):
		}
	}
}

// watchCancels keeps the ids in KV jetbus-cancels: members of those batches are skipped.
func (w *Worker) watchCancels() error {
	kv, err := w.js.KeyValue("jetbus-cancels")
	if err != nil {
		return err
	}
	watch, err := kv.WatchAll()
	if err != nil {
		return err
	}
	go func() {
		for e := range watch.Updates() {
			if e != nil && e.Operation() == nats.KeyValuePut {
				w.mu.Lock()
				w.cancelled[e.Key()] = true
				w.mu.Unlock()
			}
		}
	}()
	return nil
}

func (w *Worker) Run() error {
	if err := w.waitForStream(jobsStream); err != nil {
		return err
	}
	sub, err := w.bind()
	if err != nil {
		return err
	}
	if err := w.waitForStream("KV_jetbus-workers"); err != nil {
		return err
	}
	kv, err := w.js.KeyValue("jetbus-workers")
	if err != nil {
		return err
	}
	go w.registry(kv)
	if err := w.watchCancels(); err != nil {
		return err
	}
	fmt.Printf("worker %s ready on %s/%s (ack wait %d ms)\n", w.id, w.queue, w.typ, w.ackWait.Milliseconds())
	defer func() { _ = kv.Purge(w.id) }() // no longer serving: the record goes at once
	for {
		select {
		case <-w.stop:
			return nil
		default:
		}
		msgs, err := sub.Fetch(1, nats.MaxWait(2*time.Second))
		if err != nil && !errors.Is(err, nats.ErrTimeout) {
			log.Printf("fetch: %v", err)
			time.Sleep(time.Second)
		}
		for _, m := range msgs {
			if err := w.process(m); err != nil {
				log.Printf("not settled, will be redelivered: %v", err) // never ack on error
			}
		}
	}
}

func (w *Worker) Stop() { w.stopOnce.Do(func() { close(w.stop) }) }
