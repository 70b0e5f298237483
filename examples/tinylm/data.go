package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// This file generates the training text: short children's stories in the
// style of TinyStories, drawn from a small seeded grammar, so that the text
// has structure a tiny model can learn (recurring names, pronouns that agree
// with them, fixed phrases) and variety it cannot memorize.

// character is a story's protagonist or friend.
type character struct {
	name, kind string
	female     bool
}

var (
	characters = []character{
		{"Tom", "cat", false}, {"Lily", "girl", true}, {"Max", "dog", false},
		{"Sue", "bird", true}, {"Ben", "boy", false}, {"Mia", "bunny", true},
		{"Sam", "frog", false}, {"Anna", "girl", true}, {"Tim", "boy", false},
		{"Lucy", "duck", true}, {"Jack", "bear", false}, {"Zoe", "mouse", true},
		{"Leo", "lion", false}, {"Ella", "fox", true}, {"Bob", "pig", false},
		{"Kim", "owl", true},
	}
	adjectives = []string{"little", "big", "happy", "small", "kind", "brave", "shy", "funny", "curious", "sleepy"}
	places     = []string{"the park", "the garden", "the forest", "the beach", "the big hill", "the yard", "the pond", "the farm", "the river", "the school"}
	objects    = []string{"red ball", "shiny stone", "blue kite", "toy car", "big box", "soft hat", "yellow flower", "little boat", "green leaf", "pretty shell"}
	feelings   = []string{"happy", "sad", "scared", "excited", "proud", "surprised", "tired", "angry"}
	activities = []string{"play", "run", "jump", "sing", "dance", "swim", "read", "draw"}
	weather    = []string{"it started to rain", "the wind blew hard", "it got dark", "the sun went away", "a loud noise came from the trees"}
	morals     = []string{"sharing is good", "it is good to help friends", "being brave is important", "it is okay to ask for help", "friends make everything better"}
)

// Story parts. Placeholders in braces are filled per story; a capitalized
// placeholder ({He}, {His}) starts a sentence.
var (
	openings = []string{
		"Once upon a time, there was a {adj} {kind} named {name}.",
		"Once upon a time, in a small town, there lived a {adj} {kind}. {His} name was {name}.",
		"There was once a {adj} {kind} called {name}.",
		"One day, a {adj} {kind} named {name} went to {place}.",
	}
	middles = []string{
		"{name} liked to {activity} in {place}.",
		"{name} had a friend named {friend}. {friend} was a {fkind}.",
		"Every day, {name} and {friend} liked to {activity} together.",
		"{He} had a {obj} that {he} loved very much.",
		"One day, {name} found a {obj} in {place}. {He} was very {feel}.",
		"{name} wanted to {activity}, but {he} did not know how.",
	}
	problems = []string{
		"But then, the {obj} fell into the water. {name} was {feel2}. {friend} said, \"Don't be sad, {name}! I will help you.\"",
		"Suddenly, {weather}. {name} and {friend} ran home as fast as they could.",
		"{name} wanted to share the {obj} with {friend}, but {he} was {feel2}.",
		"Then {friend} came and said, \"Can I play with your {obj}?\" {name} thought for a moment and said, \"Yes, let's play together!\"",
		"One day, {name} lost {his} {obj}. {He} looked everywhere, but {he} could not find it.",
	}
	endings = []string{
		"In the end, they played together and were very happy.",
		"{name} learned that {moral}.",
		"From that day on, {name} and {friend} were best friends.",
		"{name} smiled and gave {friend} a big hug.",
		"They found the {obj} under a tree, and {name} was {feel} again.",
	}
)

// GenerateStories returns at least n bytes of stories, each on its own line,
// drawn deterministically from seed.
func GenerateStories(seed uint64, n int) string {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var sb strings.Builder
	sb.Grow(n + 512)
	for sb.Len() < n {
		sb.WriteString(story(rng))
		sb.WriteByte('\n')
	}
	return sb.String()
}

// story draws one story: an opening, one or two middles, a problem and an
// ending, with one protagonist and one friend throughout.
func story(rng *rand.Rand) string {
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	hero := characters[rng.IntN(len(characters))]
	friend := characters[rng.IntN(len(characters))]
	for friend.name == hero.name {
		friend = characters[rng.IntN(len(characters))]
	}
	he, his := "he", "his"
	if hero.female {
		he, his = "she", "her"
	}
	r := strings.NewReplacer(
		"{name}", hero.name, "{kind}", hero.kind,
		"{friend}", friend.name, "{fkind}", friend.kind,
		"{he}", he, "{He}", capitalize(he), "{his}", his, "{His}", capitalize(his),
		"{adj}", pick(adjectives), "{place}", pick(places), "{obj}", pick(objects),
		"{feel}", pick(feelings), "{feel2}", pick(feelings), "{activity}", pick(activities),
		"{weather}", pick(weather), "{moral}", pick(morals),
	)
	parts := []string{pick(openings)}
	for range 1 + rng.IntN(2) {
		parts = append(parts, pick(middles))
	}
	parts = append(parts, pick(problems), pick(endings))
	return r.Replace(strings.Join(parts, " "))
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Vocab maps the characters of a text to token ids and back. Ids follow
// byte order, so a vocabulary is determined by its set of characters.
type Vocab struct {
	chars []byte   // id -> character
	ids   [256]int // character -> id, or -1
}

// NewVocab returns the vocabulary of the bytes that occur in texts.
func NewVocab(texts ...string) *Vocab {
	var seen [256]bool
	for _, t := range texts {
		for i := range len(t) {
			seen[t[i]] = true
		}
	}
	v := &Vocab{}
	for c := range 256 {
		v.ids[c] = -1
		if seen[c] {
			v.ids[c] = len(v.chars)
			v.chars = append(v.chars, byte(c))
		}
	}
	return v
}

// Size returns the number of tokens.
func (v *Vocab) Size() int { return len(v.chars) }

// Chars returns the characters of the vocabulary in id order.
func (v *Vocab) Chars() string { return string(v.chars) }

// Encode maps text to token ids. It fails on a character outside the
// vocabulary.
func (v *Vocab) Encode(text string) ([]int, error) {
	ids := make([]int, len(text))
	for i := range len(text) {
		id := v.ids[text[i]]
		if id < 0 {
			return nil, fmt.Errorf("encode: character %q at offset %d is not in the vocabulary", text[i], i)
		}
		ids[i] = id
	}
	return ids, nil
}

// Decode maps token ids back to text.
func (v *Vocab) Decode(ids []int) string {
	b := make([]byte, len(ids))
	for i, id := range ids {
		b[i] = v.chars[id]
	}
	return string(b)
}

// Dataset is the tokenized training and validation text.
type Dataset struct {
	Vocab *Vocab
	Train []int
	Val   []int
}

// NewDataset generates trainChars bytes of training stories from seed and
// valChars bytes of validation stories from seed+1, so no validation story
// comes from the training stream, and tokenizes both with their joint
// character vocabulary.
func NewDataset(seed uint64, trainChars, valChars int) (*Dataset, error) {
	train := GenerateStories(seed, trainChars)
	val := GenerateStories(seed+1, valChars)
	v := NewVocab(train, val)
	tr, err := v.Encode(train)
	if err != nil {
		return nil, fmt.Errorf("new dataset: train: %w", err)
	}
	va, err := v.Encode(val)
	if err != nil {
		return nil, fmt.Errorf("new dataset: validation: %w", err)
	}
	return &Dataset{Vocab: v, Train: tr, Val: va}, nil
}

// sampleBatch fills x and y with b random windows of t tokens from data:
// y is x shifted by one position, the next token to predict.
func sampleBatch(x, y, data []int, b, t int, rng *rand.Rand) {
	for i := range b {
		off := rng.IntN(len(data) - t)
		copy(x[i*t:(i+1)*t], data[off:off+t])
		copy(y[i*t:(i+1)*t], data[off+1:off+t+1])
	}
}

// evalOffsets returns n window starts spread evenly over data, for windows
// of t tokens plus one target: the fixed validation batches.
func evalOffsets(dataLen, t, n int) []int {
	last := dataLen - t - 1
	offs := make([]int, n)
	for i := range offs {
		if n > 1 {
			offs[i] = i * last / (n - 1)
		}
	}
	return offs
}
