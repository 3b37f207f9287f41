package ring

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// LifecyclerConfig is how an ingester takes part in the ring, with Loki's
// names and defaults (Loki's ingester.lifecycler block). The instance ID is
// not here: it is -ingester.lifecycler.id of the ingester's config, passed to
// NewLifecycler.
type LifecyclerConfig struct {
	Ring Config `yaml:"ring"`
	// NumTokens is how many tokens the instance takes when it joins.
	NumTokens int `yaml:"num_tokens"`
	// HeartbeatPeriod is how often the instance renews its heartbeat.
	HeartbeatPeriod time.Duration `yaml:"heartbeat_period"`
	// Zone is the availability zone of the instance.
	Zone string `yaml:"availability_zone"`
	// Addr is the advertised host of the gRPC address; empty: the first
	// address of InterfaceNames (default: a private address of this host).
	Addr string `yaml:"address"`
	// Port is the advertised gRPC port; 0 means the caller sets it to the
	// gRPC listen port before NewLifecycler.
	Port int `yaml:"port"`
	// InterfaceNames are where to look for Addr when it is empty; empty:
	// every up, non-loopback interface with a private IPv4 address.
	InterfaceNames []string `yaml:"interface_names"`
	// FinalSleep is how long to wait after leaving the ring before Stop
	// returns (so a last metrics scrape sees the end).
	FinalSleep time.Duration `yaml:"final_sleep"`
	// UnregisterOnShutdown removes the instance from the ring when it stops;
	// false leaves it LEAVING, to come back with the same tokens.
	UnregisterOnShutdown bool `yaml:"unregister_on_shutdown"`
	// HTTPAddr is the advertised HTTP address, host:port, shown on /ring;
	// optional, set by the caller.
	HTTPAddr string `yaml:"-"`
}

// RegisterFlags registers the lifecycler flags, and the ring's (Config), with
// Loki's names and defaults. The heartbeat period is -ring.heartbeat-period,
// with Loki's -ingester.heartbeat-period as a second name.
func (c *LifecyclerConfig) RegisterFlags(f *flag.FlagSet) {
	c.Ring.RegisterFlags(f)
	f.IntVar(&c.NumTokens, "ingester.num-tokens", 128, "Number of tokens for each ingester.")
	f.DurationVar(&c.HeartbeatPeriod, "ring.heartbeat-period", 5*time.Second, "Period at which to heartbeat to the ring.")
	f.DurationVar(&c.HeartbeatPeriod, "ingester.heartbeat-period", 5*time.Second, "Alias of -ring.heartbeat-period (Loki's name).")
	f.StringVar(&c.Zone, "ingester.availability-zone", "", "The availability zone where this instance is running.")
	f.StringVar(&c.Addr, "ingester.lifecycler.addr", "", "IP address to advertise in the ring. Empty: the first address of -ingester.lifecycler.interface.")
	f.IntVar(&c.Port, "ingester.lifecycler.port", 0, "Port to advertise in the ring. 0: the gRPC listen port.")
	f.Var((*commaList)(&c.InterfaceNames), "ingester.lifecycler.interface", "Comma-separated names of the network interfaces to read the advertised address from. Empty: any interface with a private IPv4 address.")
	f.DurationVar(&c.FinalSleep, "ingester.final-sleep", 0, "Duration to sleep for before exiting, to ensure metrics are scraped.")
	f.BoolVar(&c.UnregisterOnShutdown, "ingester.unregister-on-shutdown", true, "Unregister from the ring upon clean shutdown.")
}

// Validate reports settings that cannot work.
func (c *LifecyclerConfig) Validate() error {
	if err := c.Ring.Validate(); err != nil {
		return err
	}
	if c.NumTokens < 1 {
		return errors.New("ingester.num-tokens must be at least 1")
	}
	if c.HeartbeatPeriod <= 0 {
		return errors.New("ring.heartbeat-period must be positive")
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("ingester.lifecycler.port %d out of range", c.Port)
	}
	return nil
}

// AdvertisedAddr returns the host:port the instance advertises in the ring,
// or an error when no address can be found or Port is 0.
func (c *LifecyclerConfig) AdvertisedAddr() (string, error) {
	if c.Port == 0 {
		return "", errors.New("ingester.lifecycler.port is 0: set it, or set it to the gRPC listen port before creating the lifecycler")
	}
	host := c.Addr
	if host == "" {
		var err error
		if host, err = interfaceAddr(c.InterfaceNames); err != nil {
			return "", err
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(c.Port)), nil
}

// interfaceAddr returns the first IPv4 address of the named interfaces or,
// when names is empty, the first private IPv4 address of any up, non-loopback
// interface, falling back to 127.0.0.1 (a single machine).
func interfaceAddr(names []string) (string, error) {
	if len(names) > 0 {
		for _, name := range names {
			ifc, err := net.InterfaceByName(name)
			if err != nil {
				continue
			}
			if ip := firstIPv4(ifc, false); ip != "" {
				return ip, nil
			}
		}
		return "", fmt.Errorf("no IPv4 address found on interfaces %v: set -ingester.lifecycler.addr", names)
	}
	ifcs, err := net.Interfaces()
	if err != nil {
		return "", fmt.Errorf("list network interfaces: %w", err)
	}
	for i := range ifcs {
		if ifcs[i].Flags&net.FlagUp == 0 || ifcs[i].Flags&net.FlagLoopback != 0 {
			continue
		}
		if ip := firstIPv4(&ifcs[i], true); ip != "" {
			return ip, nil
		}
	}
	return "127.0.0.1", nil
}

func firstIPv4(ifc *net.Interface, privateOnly bool) string {
	addrs, err := ifc.Addrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip := ipn.IP.To4()
		if ip == nil || ip.IsLoopback() || (privateOnly && !ip.IsPrivate()) {
			continue
		}
		return ip.String()
	}
	return ""
}

// commaList is a flag.Value of comma-separated strings.
type commaList []string

func (l *commaList) String() string { return strings.Join(*l, ",") }

func (l *commaList) Set(s string) error {
	*l = nil
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}
