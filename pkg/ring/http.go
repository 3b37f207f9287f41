package ring

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
	"time"
)

//go:embed status.gohtml
var statusPage string

var statusTemplate = template.Must(template.New("ring").Parse(statusPage))

// statusResponse is the /ring page; its JSON form is Loki's.
type statusResponse struct {
	Instances  []statusInstance `json:"shards"`
	Now        time.Time        `json:"now"`
	Key        string           `json:"-"`
	ShowTokens bool             `json:"-"`
}

type statusInstance struct {
	ID                  string    `json:"id"`
	State               string    `json:"state"`
	Address             string    `json:"address"`
	HTTPAddress         string    `json:"http_address,omitempty"`
	HeartbeatTimestamp  time.Time `json:"timestamp"`
	RegisteredTimestamp time.Time `json:"registered_timestamp"`
	Zone                string    `json:"zone"`
	Tokens              []uint32  `json:"tokens"`
	NumTokens           int       `json:"-"`
	Ownership           float64   `json:"-"` // percent
	HeartbeatAgo        string    `json:"-"`
}

// ServeHTTP serves the ring's status page (mount it at /ring): an HTML table
// of the instances with their zone, state (UNHEALTHY when the heartbeat is
// older than the timeout), addresses, timestamps, token count and the share
// of the key space they own, or, when the request accepts application/json,
// Loki's JSON form {"shards":[...],"now":...}. ?tokens=true lists the tokens
// in the HTML page. A POST with the form value forget=<id> removes that
// instance (the page offers it for UNHEALTHY instances), as Loki's does.
func (r *Ring) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		r.forget(w, req)
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	d, err := r.kv.Get(req.Context(), r.key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s := newRingState(d, nil)
	owned := s.ownership()
	now := r.now()
	resp := statusResponse{
		Instances:  make([]statusInstance, 0, len(s.instances)),
		Now:        now.UTC(),
		Key:        r.key,
		ShowTokens: req.URL.Query().Get("tokens") == "true",
	}
	for i := range s.instances {
		inst := &s.instances[i]
		state := inst.State.String()
		if !inst.IsHeartbeatHealthy(r.cfg.HeartbeatTimeout, now) {
			state = "UNHEALTHY"
		}
		tokens := inst.Tokens
		if tokens == nil {
			tokens = []uint32{}
		}
		resp.Instances = append(resp.Instances, statusInstance{
			ID:                  inst.ID,
			State:               state,
			Address:             inst.Addr,
			HTTPAddress:         inst.HTTPAddr,
			HeartbeatTimestamp:  inst.HeartbeatTime().UTC(),
			RegisteredTimestamp: inst.RegisteredTime().UTC(),
			Zone:                inst.Zone,
			Tokens:              tokens,
			NumTokens:           len(inst.Tokens),
			Ownership:           owned[i] * 100,
			HeartbeatAgo:        now.Sub(inst.HeartbeatTime()).Truncate(time.Millisecond).String(),
		})
	}

	if strings.Contains(req.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := statusTemplate.Execute(w, resp); err != nil {
		r.logger.Warn("render ring page", "err", err)
	}
}

// forget removes the instance named by the form value forget and redirects
// back to the page (post/redirect/get, relative Location as Loki does).
func (r *Ring) forget(w http.ResponseWriter, req *http.Request) {
	id := req.FormValue("forget")
	if id == "" {
		http.Error(w, "missing form value forget", http.StatusBadRequest)
		return
	}
	err := r.kv.CAS(req.Context(), r.key, func(in *Desc) (*Desc, error) {
		if !in.Remove(id, r.now()) {
			return nil, nil
		}
		return in, nil
	})
	if err != nil {
		http.Error(w, "error forgetting instance '"+id+"': "+err.Error(), http.StatusInternalServerError)
		return
	}
	r.logger.Info("instance forgotten", "key", r.key, "id", id)
	w.Header().Set("Location", "#")
	w.WriteHeader(http.StatusFound)
}
