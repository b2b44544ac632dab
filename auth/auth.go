// Package auth owns API key authentication: hashing secrets, finding the
// key a request presents, and what that key may do (scope, models, limits,
// longest deadline). It does no HTTP status mapping and no rate limiting;
// the router maps its answers to 401/403/404 and hands Key.Limits to the
// ratelimit package.
//
// Secrets are never stored: the configuration holds "sha256:<hex>" hashes
// and a presented secret is hashed and compared in constant time against
// every key. A Key prints and logs as its id only.
package auth

import "github.com/llamagate/llamagate/config"

// Scope is what a key may do.
type Scope string

// The scopes. Admin includes inference.
const (
	ScopeInference Scope = config.ScopeInference
	ScopeAdmin     Scope = config.ScopeAdmin
)
