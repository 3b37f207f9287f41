package memberlist

import (
	"errors"
	"flag"
	"strings"
	"time"
)

// Config of the gossip, with Loki's (dskit's) names and defaults.
type Config struct {
	// JoinMembers are the members to join: host:port, a host that resolves
	// to many addresses (a Kubernetes headless service), dns+host:port, or
	// dnssrv+_service._proto.name. Joining is retried with backoff until one
	// answers.
	JoinMembers []string `yaml:"join_members"`
	// BindAddr is the address to listen on (one; a list for Loki's YAML
	// shape). Empty: all addresses.
	BindAddr []string `yaml:"bind_addr"`
	// BindPort is the TCP and UDP port to listen on; 0 picks a free one.
	BindPort int `yaml:"bind_port"`
	// AdvertiseAddr is the address other members reach this one at. Empty:
	// a private address of this host.
	AdvertiseAddr string `yaml:"advertise_addr"`
	// AdvertisePort is the port other members reach this one at. 0: the
	// bind port.
	AdvertisePort int `yaml:"advertise_port"`
	// NodeName names this member; empty: the host name.
	NodeName string `yaml:"node_name"`
	// RandomizeNodeName appends a random suffix to the node name, so a
	// restarted process does not collide with its own ghost.
	RandomizeNodeName bool `yaml:"randomize_node_name"`
	// ClusterLabel, when set, makes members ignore members of other
	// clusters (a different or no label).
	ClusterLabel string `yaml:"cluster_label"`

	GossipInterval   time.Duration `yaml:"gossip_interval"`
	GossipNodes      int           `yaml:"gossip_nodes"`
	PushPullInterval time.Duration `yaml:"pull_push_interval"`
	RetransmitMult   int           `yaml:"retransmit_factor"`

	// LeftIngestersTimeout is how long a tombstone lives.
	LeftIngestersTimeout time.Duration `yaml:"left_ingesters_timeout"`
	// LeaveTimeout bounds the graceful leave on Stop: sending the last
	// broadcasts and telling the cluster.
	LeaveTimeout time.Duration `yaml:"leave_timeout"`

	MinJoinBackoff time.Duration `yaml:"min_join_backoff"`
	MaxJoinBackoff time.Duration `yaml:"max_join_backoff"`
}

// RegisterFlags registers the memberlist flags with Loki's names and defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.Var((*commaList)(&c.JoinMembers), "memberlist.join", "Comma-separated members to join: host:port, dns+host:port or dnssrv+name. Retried until one answers.")
	f.Var((*commaList)(&c.BindAddr), "memberlist.bind-addr", "IP address to listen on for gossip. Empty: all addresses.")
	f.IntVar(&c.BindPort, "memberlist.bind-port", 7946, "Port to listen on for gossip (TCP and UDP).")
	f.StringVar(&c.AdvertiseAddr, "memberlist.advertise-addr", "", "Gossip address to advertise to other members. Empty: a private address of this host.")
	f.IntVar(&c.AdvertisePort, "memberlist.advertise-port", 0, "Gossip port to advertise to other members. 0: the bind port.")
	f.StringVar(&c.NodeName, "memberlist.nodename", "", "Name of this member in the cluster. Empty: the host name.")
	f.BoolVar(&c.RandomizeNodeName, "memberlist.randomize-node-name", true, "Add a random suffix to the node name.")
	f.StringVar(&c.ClusterLabel, "memberlist.cluster-label", "", "Label of the cluster; members with another label are ignored.")
	f.DurationVar(&c.GossipInterval, "memberlist.gossip-interval", 200*time.Millisecond, "How often to gossip.")
	f.IntVar(&c.GossipNodes, "memberlist.gossip-nodes", 3, "How many members to gossip to at each interval.")
	f.DurationVar(&c.PushPullInterval, "memberlist.pullpush-interval", 30*time.Second, "How often to exchange the full state with a random member.")
	f.IntVar(&c.RetransmitMult, "memberlist.retransmit-factor", 4, "Multiplier of the number of retransmissions of a broadcast.")
	f.DurationVar(&c.LeftIngestersTimeout, "memberlist.left-ingesters-timeout", 5*time.Minute, "How long to keep the tombstone of an instance that left the ring.")
	f.DurationVar(&c.LeaveTimeout, "memberlist.leave-timeout", 20*time.Second, "Timeout of leaving the cluster on shutdown.")
	f.DurationVar(&c.MinJoinBackoff, "memberlist.min-join-backoff", time.Second, "Wait before the first retry of a failed join.")
	f.DurationVar(&c.MaxJoinBackoff, "memberlist.max-join-backoff", time.Minute, "Longest wait between join retries.")
}

// Validate reports settings that cannot work.
func (c *Config) Validate() error {
	if len(c.BindAddr) > 1 {
		return errors.New("memberlist.bind-addr: only one address is supported")
	}
	if c.BindPort < 0 || c.BindPort > 65535 || c.AdvertisePort < 0 || c.AdvertisePort > 65535 {
		return errors.New("memberlist.bind-port and memberlist.advertise-port must be 0-65535")
	}
	if c.GossipInterval <= 0 || c.PushPullInterval <= 0 || c.GossipNodes < 1 || c.RetransmitMult < 1 {
		return errors.New("memberlist: gossip interval, push-pull interval, gossip nodes and retransmit factor must be positive")
	}
	if c.LeftIngestersTimeout <= 0 || c.LeaveTimeout <= 0 {
		return errors.New("memberlist: left-ingesters-timeout and leave-timeout must be positive")
	}
	if c.MinJoinBackoff <= 0 || c.MaxJoinBackoff < c.MinJoinBackoff {
		return errors.New("memberlist: join backoffs must be positive, max at least min")
	}
	return nil
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
