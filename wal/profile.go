package wal

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// DiskProfile names an emulated disk class. A profile adds latency, with
// jitter, on top of every real fsync the WAL issues, so the seed's
// NVMe/SSD/HDD/network comparison runs on any machine. The latencies and
// their sources are tabled in doc.go.
type DiskProfile uint8

const (
	// ProfileReal adds nothing: the real disk's fsync only. The zero value.
	ProfileReal DiskProfile = iota
	// ProfileNVMe adds 100µs ±20%.
	ProfileNVMe
	// ProfileSSD adds 1ms ±25%.
	ProfileSSD
	// ProfileHDD adds 10ms ±50%.
	ProfileHDD
	// ProfileNetwork adds 100ms ±50%.
	ProfileNetwork
)

// profileSpec is the added fsync latency of a profile: mean ± jitter
// (uniform in [mean-jitter, mean+jitter]).
type profileSpec struct {
	name   string
	mean   time.Duration
	jitter time.Duration
}

// profileSpecs is indexed by DiskProfile. It is a fixed lookup table,
// never mutated.
var profileSpecs = [...]profileSpec{
	ProfileReal:    {"real", 0, 0},
	ProfileNVMe:    {"nvme", 100 * time.Microsecond, 20 * time.Microsecond},
	ProfileSSD:     {"ssd", time.Millisecond, 250 * time.Microsecond},
	ProfileHDD:     {"hdd", 10 * time.Millisecond, 5 * time.Millisecond},
	ProfileNetwork: {"network", 100 * time.Millisecond, 50 * time.Millisecond},
}

func (p DiskProfile) String() string {
	if int(p) < len(profileSpecs) {
		return profileSpecs[p].name
	}
	return fmt.Sprintf("DiskProfile(%d)", uint8(p))
}

// valid reports whether p is one of the defined profiles.
func (p DiskProfile) valid() bool { return int(p) < len(profileSpecs) }

// ProfileNames lists the accepted profile names in order of speed.
func ProfileNames() []string {
	names := make([]string, len(profileSpecs))
	for i, s := range profileSpecs {
		names[i] = s.name
	}
	return names
}

// ParseDiskProfile returns the profile named s (case-insensitive). An
// unknown name returns an error wrapping ErrInvalid that lists the valid
// names.
func ParseDiskProfile(s string) (DiskProfile, error) {
	for i, spec := range profileSpecs {
		if strings.EqualFold(s, spec.name) {
			return DiskProfile(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown disk profile %q (valid: %s)", ErrInvalid, s, strings.Join(ProfileNames(), ", "))
}

// MeanLatency returns the mean latency p adds to each fsync.
func (p DiskProfile) MeanLatency() time.Duration {
	if !p.valid() {
		return 0
	}
	return profileSpecs[p].mean
}

// delay draws the latency to add to one fsync from rng: uniform in
// [mean-jitter, mean+jitter]. ProfileReal always returns 0 and draws nothing.
func (p DiskProfile) delay(rng *rand.Rand) time.Duration {
	if !p.valid() {
		return 0
	}
	s := profileSpecs[p]
	if s.mean == 0 {
		return 0
	}
	if s.jitter == 0 {
		return s.mean
	}
	return s.mean - s.jitter + time.Duration(rng.Int64N(int64(2*s.jitter)+1))
}
