package node

import (
	"io"
	"log/slog"
)

// NewLogger is the node's slog logger. Info is quiet by design: lifecycle
// lines, status transitions and faults only; probes log at debug.
func NewLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel)) // validated already
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
