package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/llamagate/llamagate/models"
)

// reloadDebounce lets a burst of file events (an editor's save, a copy in
// progress) settle into one reload.
const reloadDebounce = 300 * time.Millisecond

// watchRegistry rebuilds the model registry on SIGHUP (delivered on hup) and whenever the
// config file or a *.gguf file in the models folder changes, until ctx
// ends. load reads the configuration afresh; a broken one is logged and
// the running registry stays. reloaded, if set, is called after each
// successful reload (tests).
func watchRegistry(ctx context.Context, hup <-chan os.Signal, configPath, modelsDir string, load func() ([]models.Spec, error), mgr *models.Manager, log *slog.Logger, reloaded func()) {
	var events chan fsnotify.Event
	var watchErrs chan error
	if w, err := fsnotify.NewWatcher(); err != nil {
		log.Warn("cannot watch files; reload with SIGHUP", "err", err)
	} else {
		defer w.Close()
		events, watchErrs = w.Events, w.Errors
		if err := w.Add(modelsDir); err != nil {
			log.Warn("cannot watch the models folder; reload with SIGHUP", "dir", modelsDir, "err", err)
		}
		if configPath != "" {
			// Watch the folder: editors replace the file rather than write it.
			if err := w.Add(filepath.Dir(configPath)); err != nil {
				log.Warn("cannot watch the config file; reload with SIGHUP", "file", configPath, "err", err)
			}
		}
	}
	cfgAbs, _ := filepath.Abs(configPath)
	dirAbs, _ := filepath.Abs(modelsDir)
	relevant := func(name string) bool {
		abs, _ := filepath.Abs(name)
		if configPath != "" && abs == cfgAbs {
			return true
		}
		return filepath.Dir(abs) == dirAbs && strings.EqualFold(filepath.Ext(abs), ".gguf")
	}

	reload := func(why string) {
		specs, err := load()
		if err != nil {
			log.Error("reload failed; the running configuration stays", "trigger", why, "err", err)
			return
		}
		mgr.Update(specs)
		log.Info("model registry reloaded", "trigger", why, "models", len(specs))
		if reloaded != nil {
			reloaded()
		}
	}
	var debounce <-chan time.Time
	var timer *time.Timer
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case <-hup:
			reload("SIGHUP")
		case ev := <-events:
			if !relevant(ev.Name) || ev.Op == fsnotify.Chmod {
				continue
			}
			if timer == nil {
				timer = time.NewTimer(reloadDebounce)
			} else {
				timer.Reset(reloadDebounce)
			}
			debounce = timer.C
		case err := <-watchErrs:
			log.Warn("file watch error", "err", err)
		case <-debounce:
			debounce = nil
			reload("file change")
		}
	}
}
