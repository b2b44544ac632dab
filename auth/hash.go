package auth

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/llamagate/llamagate/config"
)

// Bounds on what ReadSecretHash accepts. The minimum nudges operators away
// from guessable secrets: a SHA-256 of a short secret is brute-forced
// quickly if the config leaks. The maximum stops a runaway stdin.
const (
	minSecretLen = 16
	maxSecretLen = 4096
)

// HashSecret returns the hash a key's config entry holds for secret:
// "sha256:" followed by 64 lower-case hex digits.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return config.HashPrefix + hex.EncodeToString(sum[:])
}

// ReadSecretHash reads one line (the secret) from r, as `llamagate
// hash-key` does from stdin, and returns its HashSecret. The line ending
// (\n or \r\n) is not part of the secret. It refuses secrets that a
// request could never present unchanged (surrounding spaces are trimmed
// from HTTP headers, control characters are not allowed there) and
// secrets shorter than 16 characters.
func ReadSecretHash(r io.Reader) (string, error) {
	br := bufio.NewReader(io.LimitReader(r, maxSecretLen+3)) // enough to see a line that is too long
	line, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the secret: %w", err)
	}
	secret := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	switch {
	case secret == "":
		return "", errors.New("empty secret: write the secret as one line on stdin")
	case len(secret) > maxSecretLen:
		return "", fmt.Errorf("secret is longer than %d bytes", maxSecretLen)
	case strings.TrimSpace(secret) != secret:
		return "", errors.New("secret has leading or trailing white space, which HTTP headers drop")
	case strings.IndexFunc(secret, unicode.IsControl) >= 0:
		return "", errors.New("secret contains control characters, which HTTP headers cannot carry")
	case len(secret) < minSecretLen:
		return "", fmt.Errorf("secret is shorter than %d characters; generate one with e.g. `openssl rand -hex 32`", minSecretLen)
	}
	return HashSecret(secret), nil
}
