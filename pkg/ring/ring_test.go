package ring

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// Four instances without zones; the ring reads 100a 200b 300c 400d 1000a
// 1100b 1200c 1300d. A key belongs to the first token greater than it.
func fourInstances(mod map[string]func(InstanceDesc) InstanceDesc) *Desc {
	all := []InstanceDesc{
		inst("a", "", 100, 1000), inst("b", "", 200, 1100),
		inst("c", "", 300, 1200), inst("d", "", 400, 1300),
	}
	for i := range all {
		if f := mod[all[i].ID]; f != nil {
			all[i] = f(all[i])
		}
	}
	return descOf(all...)
}

func joining(i InstanceDesc) InstanceDesc { return withState(i, Joining) }
func leaving(i InstanceDesc) InstanceDesc { return withState(i, Leaving) }

func TestGet(t *testing.T) {
	tests := []struct {
		name      string
		rf        int
		timeout   time.Duration
		mod       map[string]func(InstanceDesc) InstanceDesc
		key       uint32
		op        Operation
		want      []string
		maxErrors int
		err       string
	}{
		{name: "first token after the key", key: 150, op: Write, want: []string{"b", "c", "d"}, maxErrors: 1},
		{name: "key below every token", key: 50, op: Write, want: []string{"a", "b", "c"}, maxErrors: 1},
		{name: "key equal to a token goes to the next", key: 200, op: Write, want: []string{"c", "d", "a"}, maxErrors: 1},
		{name: "wraps around", key: 1250, op: Write, want: []string{"d", "a", "b"}, maxErrors: 1},
		{name: "past the last token", key: 1300, op: Write, want: []string{"a", "b", "c"}, maxErrors: 1},
		{name: "max key", key: ^uint32(0), op: Write, want: []string{"a", "b", "c"}, maxErrors: 1},
		{name: "rf 1", rf: 1, key: 150, op: Write, want: []string{"b"}, maxErrors: 0},
		{name: "rf larger than the ring", rf: 5, key: 150, op: Write, want: []string{"b", "c", "d", "a"}, maxErrors: 1},

		// JOINING: Write extends past it to a fourth instance and drops it;
		// quorum counts the larger set (4/2+1 = 3).
		{name: "write extends past joining", mod: map[string]func(InstanceDesc) InstanceDesc{"c": joining},
			key: 150, op: Write, want: []string{"b", "d", "a"}, maxErrors: 0},
		{name: "write-no-extend drops joining", mod: map[string]func(InstanceDesc) InstanceDesc{"c": joining},
			key: 150, op: WriteNoExtend, want: []string{"b", "d"}, maxErrors: 0},
		{name: "read extends past joining", mod: map[string]func(InstanceDesc) InstanceDesc{"c": joining},
			key: 150, op: Read, want: []string{"b", "d", "a"}, maxErrors: 0},
		// LEAVING: still read from, without extension; writes extend.
		{name: "read keeps leaving", mod: map[string]func(InstanceDesc) InstanceDesc{"c": leaving},
			key: 150, op: Read, want: []string{"b", "c", "d"}, maxErrors: 1},
		{name: "write extends past leaving", mod: map[string]func(InstanceDesc) InstanceDesc{"c": leaving},
			key: 150, op: Write, want: []string{"b", "d", "a"}, maxErrors: 0},

		// Unhealthy instances are dropped, not replaced, and count against
		// the quorum.
		{name: "one stale instance", mod: map[string]func(InstanceDesc) InstanceDesc{"c": stale},
			key: 150, op: Write, want: []string{"b", "d"}, maxErrors: 0},
		{name: "two stale instances", mod: map[string]func(InstanceDesc) InstanceDesc{"c": stale, "d": stale},
			key: 150, op: Write, err: "at least 2 live replicas required, could only find 1 - unhealthy instances: c:9095,d:9095"},
		{name: "timeout 0 never expires", timeout: -1, mod: map[string]func(InstanceDesc) InstanceDesc{"c": stale, "d": stale},
			key: 150, op: Write, want: []string{"b", "c", "d"}, maxErrors: 1},
		{name: "stale and joining", mod: map[string]func(InstanceDesc) InstanceDesc{"c": joining, "d": stale},
			key: 150, op: Write, err: "at least 3 live replicas required, could only find 2 - unhealthy instances: c:9095,d:9095"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig()
			if tt.rf != 0 {
				cfg.ReplicationFactor = tt.rf
			}
			if tt.timeout < 0 {
				cfg.HeartbeatTimeout = 0
			}
			r := testRing(t, cfg, fourInstances(tt.mod))
			rs, err := r.Get(tt.key, tt.op)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err || !errors.Is(err, ErrTooManyUnhealthyInstances) {
					t.Fatalf("err = %v, want %q wrapping ErrTooManyUnhealthyInstances", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(rs.Instances); !slices.Equal(got, tt.want) {
				t.Fatalf("instances %v, want %v", got, tt.want)
			}
			if rs.MaxErrors != tt.maxErrors {
				t.Fatalf("MaxErrors %d, want %d", rs.MaxErrors, tt.maxErrors)
			}
		})
	}
}

func TestGetWithZones(t *testing.T) {
	// Zone a holds 100 and 150: without zone awareness a key below 100 lands
	// on two instances of zone a.
	base := func() []InstanceDesc {
		return []InstanceDesc{
			inst("a1", "a", 100), inst("a2", "a", 150), inst("b1", "b", 200),
			inst("c1", "c", 300), inst("c2", "c", 400), inst("b2", "b", 500),
		}
	}
	tests := []struct {
		name      string
		zoneAware bool
		instances []InstanceDesc
		key       uint32
		op        Operation
		want      []string
		maxErrors int
		err       bool
	}{
		{name: "without zone awareness", key: 50, op: Write, want: []string{"a1", "a2", "b1"}, maxErrors: 1},
		{name: "one instance per zone", zoneAware: true, key: 50, op: Write, want: []string{"a1", "b1", "c1"}, maxErrors: 1},
		{name: "later start", zoneAware: true, key: 120, op: Write, want: []string{"a2", "b1", "c1"}, maxErrors: 1},
		{name: "leaving extends within its zone", zoneAware: true, key: 50, op: Write,
			instances: func() []InstanceDesc { b := base(); b[3] = leaving(b[3]); return b }(),
			want:      []string{"a1", "b1", "c2"}, maxErrors: 0},
		{name: "two zones for rf 3", zoneAware: true, key: 50, op: Write,
			instances: []InstanceDesc{inst("a1", "a", 100), inst("a2", "a", 150), inst("b1", "b", 200), inst("b2", "b", 250)},
			want:      []string{"a1", "b1"}, maxErrors: 0},
		{name: "instances without zone are not restricted", zoneAware: true, key: 50, op: Write,
			instances: []InstanceDesc{inst("x", "", 100), inst("y", "", 150), inst("a1", "a", 200), inst("a2", "a", 250)},
			want:      []string{"x", "y", "a1"}, maxErrors: 1},
		{name: "unhealthy zone member", zoneAware: true, key: 50, op: Write,
			instances: func() []InstanceDesc { b := base(); b[2] = stale(b[2]); return b }(),
			want:      []string{"a1", "c1"}, maxErrors: 0},
		{name: "two unhealthy", zoneAware: true, key: 50, op: Write,
			instances: func() []InstanceDesc { b := base(); b[2] = stale(b[2]); b[3] = stale(b[3]); return b }(),
			err:       true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.ZoneAwarenessEnabled = tt.zoneAware
			instances := tt.instances
			if instances == nil {
				instances = base()
			}
			r := testRing(t, cfg, descOf(instances...))
			rs, err := r.Get(tt.key, tt.op)
			if tt.err {
				if !errors.Is(err, ErrTooManyUnhealthyInstances) {
					t.Fatalf("err = %v", err)
				}
				want := "at least 2 live replicas required across different availability zones, could only find 1 - unhealthy instances: b1:9095,c1:9095"
				if err.Error() != want {
					t.Fatalf("err %q, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(rs.Instances); !slices.Equal(got, tt.want) {
				t.Fatalf("instances %v, want %v", got, tt.want)
			}
			if rs.MaxErrors != tt.maxErrors {
				t.Fatalf("MaxErrors %d, want %d", rs.MaxErrors, tt.maxErrors)
			}
		})
	}
}

func TestGetSkipsAnInstanceAlreadyPicked(t *testing.T) {
	r := testRing(t, defaultConfig(), descOf(inst("x", "", 100, 150), inst("y", "", 200), inst("z", "", 300)))
	rs, err := r.Get(50, Write)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(rs.Instances); !slices.Equal(got, []string{"x", "y", "z"}) {
		t.Fatalf("got %v, want [x y z]", got)
	}
}

func TestGetEmpty(t *testing.T) {
	r := testRing(t, defaultConfig(), NewDesc())
	if _, err := r.Get(1, Write); !errors.Is(err, ErrEmptyRing) {
		t.Fatalf("empty ring: %v", err)
	}
	if _, err := r.GetAllHealthy(Read); !errors.Is(err, ErrEmptyRing) {
		t.Fatalf("empty ring: %v", err)
	}
	if _, err := r.GetReplicationSetForOperation(Read); !errors.Is(err, ErrEmptyRing) {
		t.Fatalf("empty ring: %v", err)
	}
	// Instances without tokens (still joining) own no key.
	r = testRing(t, defaultConfig(), descOf(withState(inst("a", ""), Joining)))
	if _, err := r.Get(1, Write); !errors.Is(err, ErrEmptyRing) {
		t.Fatalf("ring without tokens: %v", err)
	}
	// Tombstones are not instances.
	d := descOf(inst("a", "", 1))
	d.Remove("a", testNow)
	r = testRing(t, defaultConfig(), d)
	if r.InstancesCount() != 0 {
		t.Fatalf("InstancesCount %d with only a tombstone", r.InstancesCount())
	}
}

func TestGetIntoReusesBuffer(t *testing.T) {
	r := testRing(t, defaultConfig(), fourInstances(nil))
	buf := make([]InstanceDesc, 0, 5)
	rs, err := r.GetInto(150, Write, buf)
	if err != nil {
		t.Fatal(err)
	}
	if &rs.Instances[0] != &buf[:1][0] {
		t.Fatal("GetInto did not use the buffer")
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = r.GetInto(150, Write, buf) }); n != 0 {
		t.Fatalf("GetInto allocates %v times", n)
	}
}

func TestTokenConflictsResolvedTheSameEverywhere(t *testing.T) {
	older := inst("z-older", "", 100, 200)
	older.RegisteredTimestamp -= 1000
	newer := inst("a-newer", "", 100, 300)
	out := withState(inst("0-leaving", "", 200, 400), Leaving)
	r := testRing(t, Config{HeartbeatTimeout: time.Minute, ReplicationFactor: 1}, descOf(older, newer, out))
	for _, tt := range []struct {
		key  uint32
		want string
	}{
		{50, "z-older"},  // 100: registered first wins over a smaller ID
		{150, "z-older"}, // 200: LEAVING yields
		{250, "a-newer"},
		{350, "0-leaving"},
	} {
		rs, err := r.Get(tt.key, Reporting)
		if err != nil {
			t.Fatal(err)
		}
		if rs.Instances[0].ID != tt.want {
			t.Errorf("key %d owned by %s, want %s", tt.key, rs.Instances[0].ID, tt.want)
		}
	}
	// The lifecycler of the loser finds the same tokens lost.
	if got := lostTokens(r.Desc(), "a-newer", []uint32{100, 300}, Active, newer.RegisteredTimestamp); !slices.Equal(got, []uint32{100}) {
		t.Errorf("a-newer lost %v, want [100]", got)
	}
	if got := lostTokens(r.Desc(), "0-leaving", []uint32{200, 400}, Leaving, out.RegisteredTimestamp); !slices.Equal(got, []uint32{200}) {
		t.Errorf("0-leaving lost %v, want [200]", got)
	}
	if got := lostTokens(r.Desc(), "z-older", []uint32{100, 200}, Active, older.RegisteredTimestamp); len(got) != 0 {
		t.Errorf("z-older lost %v", got)
	}
}

func TestGetAllHealthy(t *testing.T) {
	d := fourInstances(map[string]func(InstanceDesc) InstanceDesc{"b": leaving, "c": joining, "d": stale})
	r := testRing(t, defaultConfig(), d)
	for _, tt := range []struct {
		op   Operation
		want []string
	}{
		{Read, []string{"a", "b"}},
		{Write, []string{"a"}},
		{Reporting, []string{"a", "b", "c"}},
	} {
		rs, err := r.GetAllHealthy(tt.op)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(rs.Instances); !slices.Equal(got, tt.want) || rs.MaxErrors != 0 {
			t.Errorf("got %v maxErrors %d, want %v", got, rs.MaxErrors, tt.want)
		}
	}
}

func TestGetReplicationSetForOperation(t *testing.T) {
	zoned := func(mod ...func([]InstanceDesc)) *Desc {
		all := []InstanceDesc{
			inst("a1", "a", 1), inst("a2", "a", 2), inst("b1", "b", 3),
			inst("b2", "b", 4), inst("c1", "c", 5), inst("c2", "c", 6),
		}
		for _, m := range mod {
			m(all)
		}
		return descOf(all...)
	}
	tests := []struct {
		name           string
		zoneAware      bool
		rf             int
		desc           *Desc
		want           []string
		maxErrors      int
		maxUnavailable int
		err            bool
	}{
		{name: "all healthy: all but rf/2 needed", desc: fourInstances(nil), want: []string{"a", "b", "c", "d"}, maxErrors: 1},
		{name: "one unhealthy", desc: fourInstances(map[string]func(InstanceDesc) InstanceDesc{"c": stale}), want: []string{"a", "b", "d"}, maxErrors: 0},
		{name: "two unhealthy", desc: fourInstances(map[string]func(InstanceDesc) InstanceDesc{"c": stale, "d": stale}), err: true},
		{name: "leaving serves reads", desc: fourInstances(map[string]func(InstanceDesc) InstanceDesc{"c": leaving}), want: []string{"a", "b", "c", "d"}, maxErrors: 1},
		{name: "fewer instances than rf", desc: descOf(inst("a", "", 1), inst("b", "", 2)), want: []string{"a", "b"}, maxErrors: 0},
		{name: "rf 1 needs everyone", rf: 1, desc: fourInstances(nil), want: []string{"a", "b", "c", "d"}, maxErrors: 0},
		{name: "zones all healthy", zoneAware: true, desc: zoned(), want: []string{"a1", "a2", "b1", "b2", "c1", "c2"}, maxUnavailable: 1},
		{name: "zones: a failing zone is dropped whole", zoneAware: true,
			desc: zoned(func(a []InstanceDesc) { a[2] = stale(a[2]) }), want: []string{"a1", "a2", "c1", "c2"}, maxUnavailable: 0},
		{name: "zones: two failing zones", zoneAware: true,
			desc: zoned(func(a []InstanceDesc) { a[2] = stale(a[2]); a[5] = stale(a[5]) }), err: true},
		{name: "zones: two failures in one zone", zoneAware: true,
			desc: zoned(func(a []InstanceDesc) { a[2] = stale(a[2]); a[3] = stale(a[3]) }), want: []string{"a1", "a2", "c1", "c2"}, maxUnavailable: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.ZoneAwarenessEnabled = tt.zoneAware
			if tt.rf != 0 {
				cfg.ReplicationFactor = tt.rf
			}
			r := testRing(t, cfg, tt.desc)
			rs, err := r.GetReplicationSetForOperation(Read)
			if tt.err {
				if !errors.Is(err, ErrTooManyUnhealthyInstances) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(rs.Instances); !slices.Equal(got, tt.want) {
				t.Fatalf("instances %v, want %v", got, tt.want)
			}
			if rs.MaxErrors != tt.maxErrors || rs.MaxUnavailableZones != tt.maxUnavailable {
				t.Fatalf("MaxErrors %d MaxUnavailableZones %d, want %d %d", rs.MaxErrors, rs.MaxUnavailableZones, tt.maxErrors, tt.maxUnavailable)
			}
		})
	}
}

func TestRingFollowsKV(t *testing.T) {
	kv := NewMemoryKV()
	r, err := NewRing(defaultConfig(), IngesterRingKey, kv, discardLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	now := time.Now().UnixMilli()
	for i, id := range []string{"a", "b", "c"} {
		in := InstanceDesc{ID: id, Addr: id, State: Active, Tokens: []uint32{uint32(i * 10)}, Timestamp: now}
		kv.Merge(IngesterRingKey, descOf(in))
	}
	waitFor(t, "three instances", func() bool { return r.InstancesCount() == 3 })
	rs, err := r.Get(5, Write)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(rs.Instances); !slices.Equal(got, []string{"b", "c", "a"}) {
		t.Fatalf("got %v", got)
	}
}

func TestOwnership(t *testing.T) {
	// a owns [3<<30, 1<<30) across the wrap (half the ring), b a quarter each.
	d := descOf(inst("a", "", 1<<30), inst("b", "", 2<<30, 3<<30))
	s := newRingState(d, nil)
	got := s.ownership()
	if got[0] != 0.5 || got[1] != 0.5 {
		t.Fatalf("ownership %v, want [0.5 0.5]", got)
	}
	s = newRingState(descOf(inst("a", "", 7)), nil)
	if got := s.ownership(); got[0] != 1 {
		t.Fatalf("single token ownership %v", got)
	}
}

func TestLayoutReuse(t *testing.T) {
	d := fourInstances(nil)
	s1 := newRingState(d, nil)
	d2 := d.Clone()
	hb := d2.Instances["a"]
	hb.Timestamp += 5000
	hb.State = Joining
	d2.Instances["a"] = hb
	s2 := newRingState(d2, s1)
	if &s2.tokens[0] != &s1.tokens[0] {
		t.Fatal("heartbeat-only change rebuilt the token index")
	}
	if s2.instances[0].State != Joining {
		t.Fatal("instances not refreshed")
	}
	d3 := d2.Clone()
	mv := d3.Instances["b"]
	mv.Tokens = []uint32{250}
	d3.Instances["b"] = mv
	s3 := newRingState(d3, s2)
	if &s3.tokens[0] == &s2.tokens[0] || slices.Contains(s3.tokens, 200) || !slices.Contains(s3.tokens, 250) {
		t.Fatalf("token change not indexed: %v", s3.tokens)
	}
}
