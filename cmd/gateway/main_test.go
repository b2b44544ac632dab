package main

import (
	"testing"

	"github.com/llamagate/llamagate/internal/leakcheck"
)

// TestMain fails the package when a test leaves goroutines behind: every
// request, stream, deadline and keep-alive goroutine must end with its
// request.
func TestMain(m *testing.M) { leakcheck.Main(m) }
