package llamacpp

import "testing"

func TestCPUShareSplitsBetweenBusyModels(t *testing.T) {
	s := NewCPUShare(8)
	s.join()
	if got := s.threads(8); got != 8 {
		t.Fatalf("one busy model: %d threads, want 8", got)
	}
	if got := s.threads(4); got != 4 {
		t.Fatalf("a model configured for 4 keeps 4, got %d", got)
	}
	s.join()
	if got := s.threads(8); got != 4 {
		t.Fatalf("two busy models: %d threads each, want 4", got)
	}
	s.join()
	s.join()
	s.join()
	s.join()
	s.join()
	s.join()
	s.join() // 9 busy
	if got := s.threads(8); got != 1 {
		t.Fatalf("more busy models than threads: %d, want 1", got)
	}
	for range 8 {
		s.leave()
	}
	if got := s.threads(8); got != 8 {
		t.Fatalf("back to one busy model: %d, want 8", got)
	}
	var none *CPUShare
	if got := none.threads(3); got != 3 {
		t.Fatalf("no share: %d, want 3", got)
	}
}
