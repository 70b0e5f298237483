package accounts

import (
	"sync"
	"time"
)

// Limits bound failed logins, per user name and per address alike.
type Limits struct {
	// Free is how many failures in a Window are answered at once.
	Free int
	// Max is how many failures in a Window lock the name or address out
	// until the window of the first failure passes.
	Max int
	// Window is how long failures are remembered.
	Window time.Duration
	// Delay is the wait after the first slowed failure; each further one
	// doubles it, up to 8 times Delay.
	Delay time.Duration
}

// DefaultLimits: 5 failures free, slowed from 1 s up to 8 s, refused
// after 20 in 15 minutes.
var DefaultLimits = Limits{Free: 5, Max: 20, Window: 15 * time.Minute, Delay: time.Second}

// maxTracked bounds the names and addresses remembered; past it the
// oldest are forgotten, so that memory is bounded under any attack.
const maxTracked = 100000

type failures struct {
	n     int
	first time.Time
}

// limiter counts failed logins by user name and by address.
type limiter struct {
	l   Limits
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*failures
}

func newLimiter(l Limits, now func() time.Time) *limiter {
	return &limiter{l: l, now: now, m: map[string]*failures{}}
}

func limitKeys(name, addr string) []string { return []string{"u:" + name, "a:" + addr} }

// get returns the live failures of k, forgetting an expired window.
func (lm *limiter) get(k string, now time.Time) *failures {
	f := lm.m[k]
	if f != nil && now.Sub(f.first) >= lm.l.Window {
		delete(lm.m, k)
		return nil
	}
	return f
}

// locked returns how long a user or address is still locked out, or 0.
func (lm *limiter) locked(name, addr string) time.Duration {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	now := lm.now()
	var wait time.Duration
	for _, k := range limitKeys(name, addr) {
		if f := lm.get(k, now); f != nil && f.n >= lm.l.Max {
			wait = max(wait, lm.l.Window-now.Sub(f.first))
		}
	}
	return wait
}

// fail counts a failure and returns the delay before answering it.
func (lm *limiter) fail(name, addr string) time.Duration {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	now := lm.now()
	n := 0
	for _, k := range limitKeys(name, addr) {
		f := lm.get(k, now)
		if f == nil {
			if len(lm.m) >= maxTracked {
				lm.forgetOldest()
			}
			f = &failures{first: now}
			lm.m[k] = f
		}
		f.n++
		n = max(n, f.n)
	}
	if n <= lm.l.Free {
		return 0
	}
	return lm.l.Delay << min(n-lm.l.Free-1, 3)
}

// succeed forgets the failures of a user (not of its address).
func (lm *limiter) succeed(name, addr string) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	delete(lm.m, "u:"+name)
}

// forgetOldest drops the entry whose window started first.
func (lm *limiter) forgetOldest() {
	var oldest string
	var t time.Time
	for k, f := range lm.m {
		if oldest == "" || f.first.Before(t) {
			oldest, t = k, f.first
		}
	}
	delete(lm.m, oldest)
}
