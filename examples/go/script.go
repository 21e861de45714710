package main

import (
	"context"
	"encoding/json"
	"time"
)

// scriptStep runs the conformance script: the payload says what to do on each attempt (the last step repeats).
func scriptStep(ctx context.Context, job *Job) (any, error) {
	var p struct {
		Conformance *struct {
			Steps []struct {
				Do      string          `json:"do"`
				Result  json.RawMessage `json:"result"`
				Code    string          `json:"code"`
				Message string          `json:"message"`
				WorkMs  int64           `json:"work_ms"`
			} `json:"steps"`
		} `json:"conformance"`
	}
	if json.Unmarshal(job.Payload, &p) != nil || p.Conformance == nil || len(p.Conformance.Steps) == 0 {
		return map[string]any{"echo": job.Payload, "lang": "go"}, nil
	}
	steps := p.Conformance.Steps
	i := job.Attempt
	if i >= int64(len(steps)) {
		i = int64(len(steps)) - 1
	}
	step := steps[i]
	if step.WorkMs > 0 { // the worker sends +WPI meanwhile; a timeout ends the wait
		select {
		case <-time.After(time.Duration(step.WorkMs) * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	switch step.Do {
	case "succeed":
		if len(step.Result) == 0 {
			return nil, nil
		}
		return step.Result, nil
	case "fail":
		code := step.Code
		if code == "" {
			code = "HANDLER_ERROR"
		}
		return nil, &JobError{Code: code, Message: orDefault(step.Message, "failed as the script asked")}
	case "permanent":
		return nil, &JobError{Code: "PERMANENT", Message: orDefault(step.Message, "failed permanently as the script asked")}
	case "vanish":
		return nil, ErrVanish
	}
	return nil, &JobError{Code: "PERMANENT", Message: "unknown conformance step " + step.Do}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
