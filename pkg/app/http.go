package app

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strconv"
	"time"

	"github.com/skald-logs/skald/pkg/api"
)

// initHTTP builds the HTTP server: Loki's API over deps, the ring page,
// /ingester/shutdown and pprof.
func (a *App) initHTTP(deps api.Deps) {
	apiCfg := a.cfg.API
	apiCfg.AuthEnabled = a.cfg.AuthEnabled
	apiCfg.Build = api.BuildInfo{
		Version: Version, Revision: Revision, Branch: Branch,
		BuildUser: BuildUser, BuildDate: BuildDate, GoVersion: runtime.Version(),
	}
	apiServer := api.New(apiCfg, deps, a.logger.With("component", "api"), a.reg, a.reg)
	handler := apiServer.Handler()

	mux := http.NewServeMux()
	mux.Handle("/", handler)
	if a.ring != nil {
		mux.Handle("/ring", a.ring)
	}
	if a.ingester != nil {
		mux.HandleFunc("/ingester/shutdown", a.shutdownHandler)
	}
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)

	addr := net.JoinHostPort(a.cfg.Server.HTTPListenAddress, strconv.Itoa(a.cfg.Server.HTTPListenPort))
	a.http = &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	a.http.RegisterOnShutdown(apiServer.Shutdown) // live tails are hijacked connections
}

// shutdownHandler is Loki's POST /ingester/shutdown: the ingester flushes
// every chunk, leaves the ring, answers 204 and the process exits.
func (a *App) shutdownHandler(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a.ready.Store(false)
	ctx, cancel := a.flushContext()
	err := a.stopIngester(context.WithoutCancel(ctx))
	cancel()
	if err != nil {
		http.Error(w, "shutdown: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
	a.exitOnce.Do(func() { close(a.exit) })
}

type readiness struct{ a *App }

func (r readiness) Ready(context.Context) error {
	if !r.a.ready.Load() {
		if r.a.ingester != nil {
			if err := r.a.ingester.CheckReady(); err != nil {
				return err // e.g. "not ready: replaying WAL"
			}
		}
		return errors.New("not ready: starting")
	}
	if r.a.single() {
		return nil
	}
	return r.a.clusterReady()
}
