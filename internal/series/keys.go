package series

import (
	"strings"

	"github.com/runlog/runlog/internal/runfmt"
)

// TrainLossKeys and ValLossKeys are the keys under which runs log their
// training and validation loss, in order of preference. Views that show
// "the" train or validation loss of a run take the first one present.
var (
	TrainLossKeys = []string{"train_loss", "train/loss", "loss", "training_loss"}
	ValLossKeys   = []string{"val_loss", "val/loss", "eval/loss", "validation_loss", "eval_loss", "valid_loss"}
)

// IsValidationKey reports whether key looks like a validation metric —
// val_loss, val/perplexity, eval/accuracy, validation_loss — which has a
// best value even when no goal was declared.
func IsValidationKey(key string) bool {
	k := strings.ToLower(key)
	for _, p := range []string{"val_", "val/", "valid_", "valid/", "validation_", "validation/", "eval_", "eval/", "test_", "test/"} {
		if strings.HasPrefix(k, p) || strings.Contains(k, "/"+p) {
			return true
		}
	}
	return false
}

// higherIsBetter lists words that, in the last part of a key, mean that a
// greater value is better.
var higherIsBetter = []string{"acc", "accuracy", "f1", "auc", "bleu", "rouge", "precision", "recall", "map", "reward", "score"}

// Goal returns how key is judged: the declared goal if there is one; else
// for a validation key, minimize, unless its last part names a metric where
// higher is better (accuracy, f1, bleu, …); else "" (no best value).
func Goal(key, declared string) string {
	if declared != "" {
		return declared
	}
	if !IsValidationKey(key) {
		return ""
	}
	last := strings.ToLower(key[strings.LastIndexAny(key, "/")+1:])
	for _, part := range strings.FieldsFunc(last, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		for _, w := range higherIsBetter {
			if part == w {
				return runfmt.GoalMaximize
			}
		}
	}
	return runfmt.GoalMinimize
}

// BestGoal returns how a list of runs judges a key's best value: as Goal
// does, and a loss that declared no goal (train_loss, loss, train/loss)
// is minimized too. Views that offer "best X" beside "last X" for any
// series use it.
func BestGoal(key, declared string) string {
	if g := Goal(key, declared); g != "" {
		return g
	}
	last := strings.ToLower(key[strings.LastIndexAny(key, "/")+1:])
	for _, part := range strings.FieldsFunc(last, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		if part == "loss" || part == "nll" || part == "perplexity" || part == "ppl" {
			return runfmt.GoalMinimize
		}
	}
	return ""
}
