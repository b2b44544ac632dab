// Package models owns which models exist and which are loaded: the
// registry (model id → file and settings) and the manager that loads models
// on demand and hands out leases on them. It drives backends through the
// Loader function and knows nothing of HTTP or cgo.
package models

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ScanDir returns a Spec for every *.gguf file in dir, with the file name
// without ".gguf" as its id, sorted by id. A missing dir holds no models.
func ScanDir(dir string) ([]Spec, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("models dir: %w", err)
	}
	var specs []Spec
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.EqualFold(filepath.Ext(name), ".gguf") || strings.HasPrefix(name, ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed while scanning
		}
		specs = append(specs, Spec{
			ID:      strings.TrimSuffix(name, filepath.Ext(name)),
			Path:    filepath.Join(dir, name),
			Created: info.ModTime(),
			Size:    info.Size(),
			Source:  "dir",
		})
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].ID < specs[j].ID })
	return specs, nil
}
