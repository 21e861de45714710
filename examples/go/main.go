// The Go example: `worker` serves a job type (running the conformance script, docs/protocol.md §8);
// `dispatch` sends a job, a chain and a batch with callbacks and prints how each ended, one JSON line each.
//
// Written for the older JetStream API of nats.go 1.22.1 (Debian bookworm's golang-github-nats-io-go-nats-dev:
// nc.JetStream(), js.PullSubscribe + Fetch) and built offline in GOPATH mode:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o jetbus-example ./examples/go
//	NATS_URL=127.0.0.1:4222 ./jetbus-example worker --queue default --type go:step
//	NATS_URL=127.0.0.1:4222 ./jetbus-example dispatch --foreign go:step --ts ts
//
// Tested with go 1.19.8, nats.go 1.22.1 and nats-server 2.15.1.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/nats-io/nats.go"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: jetbus-example worker|dispatch [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	queue := fs.String("queue", "default", "queue")
	typ := fs.String("type", "", "the job type to serve (worker)")
	foreign := fs.String("foreign", "", "the type this language's worker serves (dispatch)")
	ts := fs.String("ts", "ts", "prefix of the types TypeScript workers serve (dispatch)")
	_ = fs.Parse(os.Args[2:])

	url := os.Getenv("NATS_URL")
	if url == "" {
		url = nats.DefaultURL
	}
	nc, err := nats.Connect(url, nats.Name("jetbus-go-"+os.Args[1]), nats.MaxReconnects(-1))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Drain()

	switch os.Args[1] {
	case "worker":
		w, err := NewWorker(nc, *queue, *typ, scriptStep)
		if err != nil {
			log.Fatal(err)
		}
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
		go func() { <-stop; w.Stop() }()
		if err := w.Run(); err != nil {
			log.Fatal(err)
		}
	case "dispatch":
		if err := dispatchDemo(NewClient(nc), *queue, *foreign, *ts); err != nil {
			log.Fatal(err)
		}
	default:
		log.Fatalf("unknown command %q", os.Args[1])
	}
}
