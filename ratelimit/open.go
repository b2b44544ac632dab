package ratelimit

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/llamagate/llamagate/config"
)

// Open returns a Limiter on the real clock with the store the config
// names. Redis' password comes from the environment variable named by
// password_env, so it stays out of config files.
func Open(cfg config.RateLimitStore, logger *slog.Logger) (*Limiter, error) {
	opts := Options{FailClosed: cfg.OnError == config.FailClosed}
	switch cfg.Type {
	case "", config.StoreMemory:
		opts.Store = NewMemoryStore()
	case config.StoreRedis:
		var password string
		if cfg.PasswordEnv != "" {
			password = os.Getenv(cfg.PasswordEnv)
			if password == "" {
				return nil, fmt.Errorf("ratelimit: rate_limit_store.password_env names %s, which is not set", cfg.PasswordEnv)
			}
		}
		opts.Store = NewRedisStore(RedisOptions{
			Addr:     cfg.Addr,
			Password: password,
			DB:       cfg.DB,
			Prefix:   cfg.Prefix,
			Timeout:  cfg.Timeout.D(),
		})
	default:
		return nil, fmt.Errorf("ratelimit: unknown store type %q", cfg.Type)
	}
	return New(opts, logger), nil
}
