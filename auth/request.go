package auth

import (
	"net/http"
	"strings"
)

// SecretFromRequest returns the secret a request presents: the token of
// `Authorization: Bearer <secret>` (scheme case-insensitive, as RFC 9110
// says), or else the `x-api-key` header, which Anthropic-style clients
// send. ok is false when neither holds a non-empty secret.
func SecretFromRequest(h http.Header) (secret string, ok bool) {
	if v := strings.TrimSpace(h.Get("Authorization")); v != "" {
		scheme, token, found := strings.Cut(v, " ")
		if found && strings.EqualFold(scheme, "Bearer") {
			if token = strings.TrimSpace(token); token != "" {
				return token, true
			}
		}
	}
	if v := strings.TrimSpace(h.Get("X-Api-Key")); v != "" {
		return v, true
	}
	return "", false
}
