package router

import (
	"context"
	"io"
	"sync"

	"github.com/llamagate/llamagate/engine"
)

// mergedStream interleaves the streams of a request's prompts into one,
// numbering choices prompt by prompt (prompt p's choice i is p×n+i). It ends
// when every stream has ended; an error event ends it at once.
type mergedStream struct {
	events chan engine.Event
}

// mergeStreams starts one forwarder per stream; they stop when ctx ends, so
// cancelling the request's context leaves no goroutine behind.
func mergeStreams(ctx context.Context, streams []engine.Stream, n int) engine.Stream {
	m := &mergedStream{events: make(chan engine.Event)}
	var wg sync.WaitGroup
	for p, st := range streams {
		wg.Go(func() {
			for {
				ev, err := st.Next(ctx)
				if err != nil {
					if err != io.EOF && ctx.Err() == nil {
						ev = engine.Event{Err: err}
					} else {
						return
					}
				}
				ev.Index += p * n
				select {
				case m.events <- ev:
				case <-ctx.Done():
					return
				}
				if ev.Err != nil {
					return
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(m.events)
	}()
	return m
}

func (m *mergedStream) Next(ctx context.Context) (engine.Event, error) {
	select {
	case ev, ok := <-m.events:
		if !ok {
			return engine.Event{}, io.EOF
		}
		return ev, nil
	case <-ctx.Done():
		return engine.Event{}, ctx.Err()
	}
}
