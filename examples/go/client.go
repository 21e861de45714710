package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// Client dispatches jobs, chains and batches. Every request carries ids made here, so retrying it is safe.
type Client struct {
	nc *nats.Conn
	js nats.JetStreamContext
}

func NewClient(nc *nats.Conn) *Client {
	js, _ := nc.JetStream()
	return &Client{nc: nc, js: js}
}

func (c *Client) call(subject string, body any, traceparent string) error {
	data, _ := json.Marshal(body)
	req := nats.NewMsg(subject)
	req.Data = data
	if traceparent != "" {
		req.Header.Set("traceparent", traceparent) // the caller's span: every job of the dispatch joins its trace
	}
	msg, err := c.nc.RequestMsg(req, 10*time.Second)
	if errors.Is(err, nats.ErrNoResponders) {
		return errors.New("no jetbus dispatcher is running")
	} else if err != nil {
		return err
	}
	var reply struct {
		OK    bool `json:"ok"`
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &reply); err != nil {
		return err
	}
	if !reply.OK {
		return fmt.Errorf("%s: %s", reply.Error.Code, reply.Error.Message)
	}
	return nil
}

// WatchDone subscribes to jetbus.done.<id>: do it BEFORE dispatching.
func (c *Client) WatchDone(id string) (*nats.Subscription, error) {
	return c.nc.SubscribeSync("jetbus.done." + id)
}

// WaitDone waits for the done notice; for a plain job it reads the result record first (it may be done already).
func (c *Client) WaitDone(sub *nats.Subscription, dispatchID string, timeout time.Duration) (json.RawMessage, error) {
	defer sub.Unsubscribe()
	if dispatchID != "" {
		if m, err := c.js.GetLastMsg("KV_jetbus-results", "$KV.jetbus-results."+dispatchID); err == nil {
			return json.Marshal(map[string]any{"v": 1, "kind": "job", "record": json.RawMessage(m.Data)})
		}
	}
	msg, err := sub.NextMsg(timeout)
	if err != nil {
		return nil, err
	}
	return msg.Data, nil
}

func script(steps ...map[string]any) map[string]any {
	return map[string]any{"conformance": map[string]any{"case": "demo", "steps": steps}}
}

func dispatchDemo(c *Client, queue, foreign, ts string) error {
	traceparent := "00-" + randHex(16) + "-" + randHex(8) + "-01"
	print := func(key string, v any) { b, _ := json.Marshal(map[string]any{key: v}); fmt.Println(string(b)) }
	print("traceparent", traceparent)

	jobID := newID("dsp")
	sub, err := c.WatchDone(jobID)
	if err != nil {
		return err
	}
	if err := c.call("jetbus.v1.dispatch", map[string]any{"v": 1, "job": map[string]any{"dispatch_id": jobID,
		"type": ts + ":hello", "queue": queue, "payload": map[string]any{"name": "go"}}}, traceparent); err != nil {
		return err
	}
	notice, err := c.WaitDone(sub, jobID, 30*time.Second)
	if err != nil {
		return err
	}
	print("job", notice)

	chainID := newID("chn")
	if sub, err = c.WatchDone(chainID); err != nil {
		return err
	}
	if err := c.call("jetbus.v1.chain", map[string]any{"v": 1, "chain_id": chainID, "dispatch_id": newID("dsp"), "queue": queue,
		"jobs": []any{
			map[string]any{"type": ts + ":first", "payload": map[string]any{"step": 0}},
			map[string]any{"type": foreign, "payload": script(map[string]any{"do": "succeed", "result": map[string]any{"lang": "go"}})},
			map[string]any{"type": ts + ":last", "payload": map[string]any{"step": 2}},
		},
		"catch": map[string]any{"type": ts + ":catch"}, "finally": map[string]any{"type": ts + ":finally"}}, traceparent); err != nil {
		return err
	}
	if notice, err = c.WaitDone(sub, "", 30*time.Second); err != nil {
		return err
	}
	print("chain", notice)

	batchID := newID("bat")
	if sub, err = c.WatchDone(batchID); err != nil {
		return err
	}
	flaky := script(map[string]any{"do": "fail", "message": "first try fails"},
		map[string]any{"do": "succeed", "result": map[string]any{"lang": "go", "retried": true}})
	if err := c.call("jetbus.v1.batch.create", map[string]any{"v": 1, "batch_id": batchID, "dispatch_id": newID("dsp"),
		"queue": queue, "name": "go-batch", "seal": true,
		"jobs": []any{
			map[string]any{"type": ts + ":hello", "payload": map[string]any{"name": "member"}},
			map[string]any{"type": foreign, "payload": flaky, "options": map[string]any{"retry": 1}},
		},
		"then": map[string]any{"type": ts + ":then"}, "catch": map[string]any{"type": ts + ":catch"},
		"finally": map[string]any{"type": ts + ":finally"}, "progress": map[string]any{"type": ts + ":progress"}}, traceparent); err != nil {
		return err
	}
	if notice, err = c.WaitDone(sub, "", 30*time.Second); err != nil {
		return err
	}
	print("batch", notice)
	return nil
}
