package tbimport

import (
	"errors"
	"io"
)

// batch is a stretch of decoded events, handed from the goroutine that
// reads an event file to the one that writes run.log.
type batch struct {
	events  []batchEvent
	values  []batchValue // the values of the events, in order
	tags    []string     // tags first seen in this batch, numbered on from those before
	bad     int          // events that could not be decoded
	badRich int          // texts, images and histograms that could not be decoded
	start   float64      // the wall time of the file's first event, if in this batch
	end     int64        // the file offset after the batch
}

type batchEvent struct {
	wall float64
	step int64
	n    int         // values
	rich []richValue // its texts, images and histograms
}

type batchValue struct {
	tag int32 // the tag's number
	v   float64
}

// batchEvents is how many events a batch holds at most.
const batchEvents = 16 << 10

// decodeFile reads the records of r, decodes their scalars and sends them
// in batches taken from free. tags numbers the tags of the run.
func decodeFile(r *Reader, plugins map[string]string, tags map[string]int32, out chan<- *batch, free <-chan *batch) error {
	var ev event
	b := <-free
	reset := func() {
		b.events, b.values, b.tags, b.bad, b.badRich, b.start = b.events[:0], b.values[:0], b.tags[:0], 0, 0, 0
	}
	reset()
	first := true
	for {
		data, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		ev = event{scalars: ev.scalars[:0]}
		if err := decodeEvent(data, &ev, plugins); err != nil {
			b.bad++
			continue
		}
		if first {
			b.start, first = ev.wallTime, false
		}
		b.badRich += ev.badRich
		if len(ev.scalars) == 0 && len(ev.rich) == 0 {
			continue
		}
		for _, s := range ev.scalars {
			i, ok := tags[string(s.tag)]
			if !ok {
				i = int32(len(tags))
				tags[string(s.tag)] = i
				b.tags = append(b.tags, string(s.tag))
			}
			b.values = append(b.values, batchValue{i, s.value})
		}
		b.events = append(b.events, batchEvent{ev.wallTime, ev.step, len(ev.scalars), ev.rich})
		if len(b.events) >= batchEvents {
			b.end = r.Offset()
			out <- b
			b = <-free
			reset()
		}
	}
	b.end = r.Offset()
	out <- b
	return nil
}
