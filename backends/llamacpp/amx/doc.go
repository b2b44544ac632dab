// Package amx decides whether ggml may use Intel AMX tiles. The kernels are
// compiled in only with the build tag amx (make AMX=1); even then they are
// used only after a probe in a child process has shown that the OS lets
// this process use the tiles: VMs can report AMX in CPUID that the guest
// cannot use, and the first tile load then dies with SIGILL.
package amx

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// probeEnv makes a process started by Setup run the probe and exit.
const probeEnv = "LLAMAGATE_AMX_PROBE"

// Status says whether AMX is in use and why.
type Status struct {
	Compiled bool // the kernels are in this binary
	Enabled  bool // ggml may use them
	Reason   string
}

func init() {
	if os.Getenv(probeEnv) == "1" {
		// The child: request the tile permission and run one tile load;
		// a fault kills this process, not the gateway.
		if err := probeTiles(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
}

// Setup probes AMX (when compiled in) and enables the kernels if the probe
// passes. It must run before the first model is loaded: ggml lists the
// CPU's extra buffer types once.
func Setup(ctx context.Context) Status {
	if !compiled {
		return Status{Reason: notCompiled}
	}
	exe, err := os.Executable()
	if err != nil {
		return Status{Compiled: true, Reason: "cannot start the probe: " + err.Error()}
	}
	st := runProbe(ctx, exe, []string{probeEnv + "=1"}, probeTimeout)
	if st.Enabled {
		enable()
	}
	return st
}

const probeTimeout = 10 * time.Second

// runProbe starts exe with env added and reads its fate: exit status 0
// means the tiles work; anything else (an error exit, death by a signal,
// no answer within timeout) leaves AMX off and says why.
func runProbe(ctx context.Context, exe string, env []string, timeout time.Duration) Status {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer within %v", timeout)
		}
		return Status{Compiled: true, Reason: fmt.Sprintf("the probe failed (%v: %s); using the AVX-512/AVX2 kernels", err, trim(out))}
	}
	return Status{Compiled: true, Enabled: true, Reason: "the probe loaded a tile"}
}

func trim(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return string(b)
}
