package ratelimit

import (
	"testing"

	"github.com/llamagate/llamagate/internal/testredis"
)

// startRedis starts a private redis-server for the test (see testredis).
func startRedis(t *testing.T) string { return testredis.Start(t) }

func freePort() (int, error) { return testredis.FreePort() }
