package node

import (
	"context"
	"io"
	"log/slog"
)

// NewLogger is the node's slog logger. Info is quiet by design: lifecycle
// lines, status transitions and faults only; probes log at debug.
func NewLogger(cfg Config, w io.Writer) *slog.Logger {
	return slog.New(newHandler(cfg, w, level(cfg)))
}

func level(cfg Config) slog.Level {
	var l slog.Level
	l.UnmarshalText([]byte(cfg.LogLevel)) // validated already
	return l
}

func newHandler(cfg Config, w io.Writer, l slog.Level) slog.Handler {
	opts := &slog.HandlerOptions{Level: l}
	if cfg.LogFormat == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// Libp2pLogHandler is for go-libp2p's own loggers (gologshim): the node's
// format, errors only (go-libp2p's own default) unless the node logs at
// debug. go-libp2p builds its host with an fx app of its own, whose logger
// reports a failed start (a port in use) three times; the node reports it
// once, as one line, so that logger is left out unless at debug.
func Libp2pLogHandler(cfg Config, w io.Writer) slog.Handler {
	if level(cfg) <= slog.LevelDebug {
		return newHandler(cfg, w, slog.LevelDebug)
	}
	return dropFxHandler{Handler: newHandler(cfg, w, slog.LevelError)}
}

// dropFxHandler drops the records of loggers marked system=fx.
type dropFxHandler struct {
	slog.Handler
	fx bool
}

func (h dropFxHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return !h.fx && h.Handler.Enabled(ctx, l)
}

func (h dropFxHandler) WithAttrs(as []slog.Attr) slog.Handler {
	fx := h.fx
	for _, a := range as {
		fx = fx || (a.Key == "system" && a.Value.String() == "fx")
	}
	return dropFxHandler{Handler: h.Handler.WithAttrs(as), fx: fx}
}

func (h dropFxHandler) WithGroup(name string) slog.Handler {
	return dropFxHandler{Handler: h.Handler.WithGroup(name), fx: h.fx}
}
