package ratelimit

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configures a RedisStore.
type RedisOptions struct {
	Addr     string // host:port
	Password string
	DB       int
	Prefix   string        // put before every key; "" : "llamagate:"
	Timeout  time.Duration // per call, retries included; 0: 100ms
}

// RedisStore keeps buckets in Redis so that gateway instances share them.
// Each rate is a GCRA "theoretical arrival time" (TAT) in one key; one Lua
// script checks and takes both rates of a bucket atomically. The time
// comes from the caller (milliseconds), not from Redis, so tests can drive
// it; instances must therefore keep their clocks in sync (NTP): a clock
// that runs ahead by s lets its instance exceed a limit by about s's worth
// of refill. Keys expire when their bucket would be full again.
type RedisStore struct {
	client  *redis.Client
	prefix  string
	timeout time.Duration
	take    *redis.Script
	refund  *redis.Script
}

// takeScript: KEYS = request TAT key, token TAT key; ARGV = now (ms),
// period (ms), requests limit, tokens limit, tokens to take (limit 0: not
// checked). It returns {admitted 0/1, request TAT, request wait, token
// TAT, token wait}, the TATs after the call and the waits in ms (<= 0:
// room now) as strings, since Redis truncates Lua numbers to integers.
const takeScript = `
local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
-- A TAT near 1.7e12 ms is exact to about 0.2 microseconds; admitting
-- 10 microseconds early hides that float noise.
local eps = 0.01

local function load(key, limit, n)
  if limit <= 0 then return nil end
  local d = {key = key, tat = now}
  local v = redis.call('GET', key)
  if v then
    local t = tonumber(v)
    if t and t > now then d.tat = t end
  end
  d.new_tat = d.tat + n * period / limit
  d.wait = d.new_tat - period - now
  return d
end

local req = load(KEYS[1], tonumber(ARGV[3]), 1)
local tok = load(KEYS[2], tonumber(ARGV[4]), tonumber(ARGV[5]))
local ok = (req == nil or req.wait <= eps) and (tok == nil or tok.wait <= eps)

local function out(d)
  if d == nil then return {'', ''} end
  local tat = d.tat
  if ok then
    tat = d.new_tat
    if tat > now then
      redis.call('SET', d.key, string.format('%.17g', tat), 'PX', math.ceil(tat - now))
    end
  end
  return {string.format('%.17g', tat), string.format('%.17g', d.wait)}
end

local r = out(req)
local t = out(tok)
return {ok and 1 or 0, r[1], r[2], t[1], t[2]}
`

// refundScript: KEYS = token TAT key; ARGV = now (ms), period (ms),
// tokens limit, tokens to give back. It moves the TAT back, not below now
// (a full bucket has no key).
const refundScript = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local now = tonumber(ARGV[1])
local tat = tonumber(v) - tonumber(ARGV[4]) * tonumber(ARGV[2]) / tonumber(ARGV[3])
if tat <= now then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('SET', KEYS[1], string.format('%.17g', tat), 'PX', math.ceil(tat - now))
return 1
`

// NewRedisStore returns a store on the Redis at opts.Addr. It does not
// connect until first used.
func NewRedisStore(opts RedisOptions) *RedisStore {
	if opts.Prefix == "" {
		opts.Prefix = "llamagate:"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 100 * time.Millisecond
	}
	return &RedisStore{
		client: redis.NewClient(&redis.Options{
			Addr:     opts.Addr,
			Password: opts.Password,
			DB:       opts.DB,
			// RESP2 and no CLIENT SETINFO: every Redis-compatible server
			// takes them, and the connection handshake is one round trip.
			Protocol:              2,
			DisableIdentity:       true,
			DialTimeout:           opts.Timeout,
			ReadTimeout:           opts.Timeout,
			WriteTimeout:          opts.Timeout,
			ContextTimeoutEnabled: true,
			// One retry covers a pooled connection that Redis closed; the
			// context deadline bounds both tries together.
			MaxRetries: 1,
			// One dial per try, not go-redis' default of 5 with 100ms
			// pauses: a down Redis must cost a request little, whatever
			// the error policy.
			DialerRetries: 1,
		}),
		prefix:  opts.Prefix,
		timeout: opts.Timeout,
		take:    redis.NewScript(takeScript),
		refund:  redis.NewScript(refundScript),
	}
}

// keys returns a bucket's request and token keys. The braces make them a
// Redis Cluster hash tag, so both land on one node as the script needs.
func (s *RedisStore) keys(bucket string) (req, tok string) {
	base := s.prefix + "{" + bucket + "}"
	return base + ":req", base + ":tok"
}

// Take implements Store.
func (s *RedisStore) Take(ctx context.Context, bucket string, lim Limits, tokens int, now time.Time) (Status, error) {
	if !lim.rated() {
		return Status{}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, tok := s.keys(bucket)
	nowMs := now.UnixMilli()
	// Script.Run sends EVALSHA and falls back to EVAL when Redis does not
	// know the script yet (after a restart or SCRIPT FLUSH).
	res, err := s.take.Run(ctx, s.client, []string{req, tok},
		nowMs, period.Milliseconds(), lim.RequestsPerMinute, max(lim.TokensPerMinute, 0), tokens).Slice()
	if err != nil {
		return Status{}, fmt.Errorf("redis take: %w", err)
	}
	if len(res) != 5 {
		return Status{}, fmt.Errorf("redis take: unexpected reply %v", res)
	}
	reqWin, reqWait, err := parseDim(res[1], res[2], lim.RequestsPerMinute, nowMs)
	if err != nil {
		return Status{}, err
	}
	tokWin, tokWait, err := parseDim(res[3], res[4], lim.TokensPerMinute, nowMs)
	if err != nil {
		return Status{}, err
	}
	st := Status{Requests: reqWin, Tokens: tokWin}
	if ok, _ := res[0].(int64); ok != 1 {
		return st, rejection(lim, tokens, reqWait, tokWait)
	}
	return st, nil
}

// parseDim turns one rate's TAT and wait (strings of ms) into its Window
// and the time to wait (0: room now).
func parseDim(tatV, waitV any, limit int, nowMs int64) (Window, time.Duration, error) {
	if limit <= 0 {
		return Window{}, 0, nil
	}
	tatS, _ := tatV.(string)
	waitS, _ := waitV.(string)
	tat, err1 := strconv.ParseFloat(tatS, 64)
	waitMs, err2 := strconv.ParseFloat(waitS, 64)
	if err1 != nil || err2 != nil {
		return Window{}, 0, fmt.Errorf("redis take: unexpected reply %q %q", tatS, waitS)
	}
	// The bucket is full again when now reaches the TAT; its level is the
	// limit less the units that take that long to refill. Microseconds
	// are as precise as a TAT of that size gets.
	aheadMs := math.Max(roundMicros(tat-float64(nowMs)), 0)
	level := float64(limit) * (1 - aheadMs/float64(period.Milliseconds()))
	untilFull := ceilNanos(aheadMs * float64(time.Millisecond))
	return window(limit, level, untilFull), ceilNanos(roundMicros(waitMs) * float64(time.Millisecond)), nil
}

func roundMicros(ms float64) float64 { return math.Round(ms*1000) / 1000 }

// Refund implements Store.
func (s *RedisStore) Refund(ctx context.Context, bucket string, lim Limits, tokens int, now time.Time) error {
	if lim.TokensPerMinute <= 0 || tokens <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, tok := s.keys(bucket)
	err := s.refund.Run(ctx, s.client, []string{tok},
		now.UnixMilli(), period.Milliseconds(), lim.TokensPerMinute, tokens).Err()
	if err != nil {
		return fmt.Errorf("redis refund: %w", err)
	}
	return nil
}

// Ping checks that Redis answers, for a health check or startup.
func (s *RedisStore) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.client.Ping(ctx).Err()
}

// Close implements Store: it closes the connections.
func (s *RedisStore) Close() error { return s.client.Close() }
