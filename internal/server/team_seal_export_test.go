package server

import (
	"time"

	"github.com/runlog/runlog/internal/store/postgres"
)

// SetSealPolicy makes the team servers of this test binary seal with opts
// and wait retry after each failed round, until the returned function puts
// the defaults back.
func SetSealPolicy(opts postgres.SealOptions, retry time.Duration) (restore func()) {
	sealPolicy.Lock()
	defer sealPolicy.Unlock()
	sealPolicy.sealConfig = sealConfig{opts: opts, retry: retry, retryMax: retry}
	return func() {
		sealPolicy.Lock()
		defer sealPolicy.Unlock()
		sealPolicy.sealConfig = defaultSealPolicy
	}
}

// Bucket is bucket: a store of the test's own in the tests' S3 server.
var Bucket = bucket
