package llamacpp

import (
	"testing"
	"time"

	"github.com/llamagate/llamagate/engine"
)

// machine is a scripted step cost: per thread count, at a given moment.
type machine func(threads int) time.Duration

// run drives the tuner for n decode steps of batch 1 and returns the
// thread counts it used.
func runTuner(t *threadTuner, n int, m machine) []int {
	used := make([]int, n)
	for i := range n {
		th := t.threads()
		used[i] = th
		t.observe(th, 1, 0, m(th))
	}
	return used
}

func count(used []int, n int) int {
	c := 0
	for _, u := range used {
		if u == n {
			c++
		}
	}
	return c
}

func quiet(threads int) time.Duration {
	if threads == 2 {
		return 22 * time.Millisecond
	}
	return 39 * time.Millisecond
}

// contended is 2 cores with a busy loop on one (measured, bench/RESULTS.md).
func contended(threads int) time.Duration {
	if threads == 2 {
		return 64 * time.Millisecond
	}
	return 39 * time.Millisecond
}

func TestTunerQuietNeverProbes(t *testing.T) {
	tu := newThreadTuner(2)
	used := runTuner(tu, 500, quiet)
	if c := count(used, 1); c != 0 {
		t.Fatalf("quiet machine: %d steps with 1 thread, want 0", c)
	}
}

func TestTunerBacksOffUnderContentionAndComesBack(t *testing.T) {
	tu := newThreadTuner(2)
	runTuner(tu, 50, quiet)
	used := runTuner(tu, 200, contended)
	if c := count(used[100:], 1); c < 90 {
		t.Fatalf("contended: only %d of the last 100 steps used 1 thread", c)
	}
	used = runTuner(tu, 200, quiet)
	if c := count(used[100:], 2); c < 100 {
		t.Fatalf("quiet again: only %d of the last 100 steps used 2 threads", c)
	}
}

func TestTunerSlowerWorkIsNotContention(t *testing.T) {
	// Steps get slower for both counts alike (a growing context): the
	// tuner may probe while its estimate catches up, then keeps full
	// threads without probing again.
	tu := newThreadTuner(2)
	runTuner(tu, 50, quiet)
	longer := func(th int) time.Duration { return 2 * quiet(th) }
	used := runTuner(tu, 300, longer)
	if c := count(used, 1); c > 2*tunerProbeSteps {
		t.Fatalf("%d steps with 1 thread, want at most two probes", c)
	}
	if c := count(used[100:], 1); c != 0 {
		t.Fatalf("still probing after 100 steps: %d steps with 1 thread", c)
	}
}

func TestTunerIgnoresPromptSteps(t *testing.T) {
	tu := newThreadTuner(2)
	runTuner(tu, 50, quiet)
	for range 100 {
		tu.observe(tu.threads(), 1, 200, time.Second)
	}
	if tu.threads() != 2 || tu.probe != 0 {
		t.Fatal("slow prompt steps were taken for contention")
	}
}

func TestTunerSingleThreadIsLeftAlone(t *testing.T) {
	tu := newThreadTuner(1)
	for range 100 {
		tu.observe(1, 1, 0, time.Second)
	}
	if tu.threads() != 1 {
		t.Fatal("changed a 1-thread model")
	}
}

// A busy loop at nice 19 leaves most steps alone and makes a rare one very
// slow. Full threads stay faster there; the rare step must not move the
// tuner to fewer threads.
func TestTunerRareStallsAreNotContention(t *testing.T) {
	tu := newThreadTuner(2)
	runTuner(tu, 50, quiet)
	step := 0
	rare := func(th int) time.Duration {
		step++
		if step%10 == 0 {
			return 10 * quiet(th)
		}
		return quiet(th)
	}
	used := runTuner(tu, 500, rare)
	if c := count(used, 1); c > 2*tunerProbeSteps {
		t.Fatalf("%d of 500 steps used 1 thread, want at most a probe or two", c)
	}
}

// TestLoopAppliesThreadTuner checks the wiring, not the policy: the decode
// loop feeds its step times to the tuner and decodes with the count the
// tuner picks. Step times are scripted (the loop's measured times are
// replaced), so the test does not depend on this machine's load: quiet,
// two threads take 1 ms and one thread 1.8 ms; contended (decode steps 20
// to 99), two threads take 10 ms.
func TestLoopAppliesThreadTuner(t *testing.T) {
	var used []int // threads of each decode step, on the loop goroutine only
	steps := 0
	m := load(t, Options{Threads: 2, AdaptiveThreads: true,
		stepTime: func(threads, batch int, _ time.Duration) time.Duration {
			used = append(used, threads)
			steps++
			contended := steps >= 20 && steps < 100
			switch {
			case threads == 1:
				return 1800 * time.Microsecond
			case contended:
				return 10 * time.Millisecond
			default:
				return time.Millisecond
			}
		}})
	_, final := generate(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 220, IgnoreEOS: true})
	if final.Usage.CompletionTokens != 220 {
		t.Fatalf("generated %d tokens, want 220", final.Usage.CompletionTokens)
	}
	// generate returned after the last step's observation: the loop wrote
	// used before it sent the final event.
	if len(used) < 200 {
		t.Fatalf("the tuner saw %d decode steps, want about 220", len(used))
	}
	if c := count(used[:20], 1); c != 0 {
		t.Errorf("quiet start: %d of 20 steps with one thread, want none: %v", c, used[:20])
	}
	if c := count(used[60:100], 1); c < 30 {
		t.Errorf("contended: only %d of steps 60-99 used one thread: %v", c, used[20:100])
	}
	if c := count(used[len(used)-40:], 2); c < 30 {
		t.Errorf("quiet again: only %d of the last 40 steps used two threads: %v", c, used[100:])
	}
}
