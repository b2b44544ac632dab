package llamacpp

import (
	"context"
	"io"
	"sync"

	"github.com/llamagate/llamagate/engine"
)

// stream is a request's mailbox. The batch loop pushes without ever
// blocking, so a slow or vanished client cannot stall other sequences; the
// buffer is bounded by the request's max_tokens.
type stream struct {
	mu     sync.Mutex
	events []engine.Event
	ended  bool          // the last final event (or an error) was taken
	finals int           // final events still expected
	notify chan struct{} // cap 1
}

func newStream(choices int) *stream { return &stream{notify: make(chan struct{}, 1), finals: choices} }

func (s *stream) push(ev engine.Event) {
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Next implements engine.Stream. After the stream's end it returns io.EOF.
func (s *stream) Next(ctx context.Context) (engine.Event, error) {
	for {
		s.mu.Lock()
		if len(s.events) > 0 {
			ev := s.events[0]
			s.events[0] = engine.Event{}
			s.events = s.events[1:]
			if ev.Done {
				s.finals--
			}
			if s.finals <= 0 || ev.Err != nil {
				s.ended = true
				s.events = nil
			}
			s.mu.Unlock()
			return ev, nil
		}
		ended := s.ended
		s.mu.Unlock()
		if ended {
			return engine.Event{}, io.EOF
		}
		select {
		case <-s.notify:
		case <-ctx.Done():
			return engine.Event{}, ctx.Err()
		}
	}
}
