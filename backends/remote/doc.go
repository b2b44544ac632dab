// Package remote serves a model from another OpenAI-compatible server
// (another llamagate, llama-server, vLLM, a hosted API): it forwards a
// request the gateway has already decoded and validated, and passes the
// answer back, streams event by event without buffering. It owns the HTTP
// client for one upstream (its own pooled transport), the request and
// answer rewriting, usage extraction and the classification of upstream
// failures. It imports neither gin nor cgo.
//
//	c, err := remote.New(remote.Config{BaseURL: "http://peer:8080/v1", APIKey: key, Model: "llama-3-8b"})
//	defer c.Close()
//	usage, err := c.Forward(ctx, "/chat/completions", body, "my-alias", w)
//
// # Rewriting
//
// Up: the body's top-level "model" becomes Config.Model; with
// Config.StreamUsage, a stream also asks for its usage chunk. Down: every
// answer and chunk gets "model": showModel (the id the client asked for).
// Both are byte splices of that one member: content, escapes (including
// escaped lone surrogates) and even raw invalid UTF-8 pass unchanged.
//
// # Streams
//
// Each upstream event is written and flushed before the next line is read.
// Headers (text/event-stream, no-cache, X-Accel-Buffering: no) go out with
// the first data event. SSE comments pass once the stream has started and
// are dropped before: forwarding a keep-alive would commit the status
// line, ruling out an HTTP error status. A caller that has committed the
// response already (its own keep-alives; gin's Written() tells) gets them
// from the start. Either way a fallback stays possible until the first
// data event. "data: [DONE]"
// passes; a stream that ends without it after a finish_reason gets one (some
// servers omit it); one that ends without a finish_reason is cut, and the
// client gets an error event. llama-server's "error: {...}" lines and
// "data: {"error":...}" events are errors like HTTP ones.
//
// # Errors and the status mapping
//
// Every failure is an *UpstreamError. Before the first byte Forward writes
// nothing; the caller answers with APIError() (or, through errors.As, the
// router's own mapping finds it as an *openai.Error) or tries a fallback
// when Retryable(). After the first byte Forward ends the stream with a
// data: {"error":...} event itself, unless the caller's ctx ended it.
//
//	upstream failure                        client gets                    Retryable
//	dial refused, DNS, TLS, reset           502 upstream_unavailable       yes
//	ConnectTimeout, FirstByteTimeout,       504 upstream_timeout           yes (before the first byte)
//	  Timeout, upstream 408 or 504
//	upstream 5xx (not 503/504), 3xx         502 upstream_error             yes
//	upstream 503 or 429                     503 upstream_overloaded        yes
//	                                          + Retry-After from upstream
//	upstream 401 or 403 (its key is ours)   502 upstream_auth_failed       yes
//	upstream 404 (base_url or model name)   502 upstream_error             yes
//	not OpenAI (non-JSON 200, cut stream)   502 upstream_error             yes
//	other 4xx (400, 413, 422...)            same status, upstream's        no
//	                                          envelope (non-OpenAI bodies
//	                                          wrapped, type "upstream_error")
//	caller's ctx ended                      APIError() is nil: the caller  no
//	                                          maps context.Canceled etc.
//
// Upstream 429 becomes 503, not 429: a 429 tells a client that it is over
// its own limit, which it is not. 401/403/404 become 502 because the
// client's key and model id were fine with the gateway; the gateway's
// upstream configuration is what failed. Client-facing messages never name
// the upstream's address; Error() names its host for logs. The API key
// appears nowhere but in the Authorization header, and redirects are never
// followed (a 3xx is an error naming the fix), so the key cannot travel to
// another host.
//
// # Usage
//
// Forward returns the usage of the JSON answer, or of the stream's last
// usage object (OpenAI's usage chunk, or llama-server's usage in its final
// chunk). Without one, Usage.Estimated is set and CompletionTokens counts
// the content deltas (one per token on every common server); PromptTokens
// stays 0. Config.StreamUsage makes the real figure available on servers
// that support stream_options.
package remote
