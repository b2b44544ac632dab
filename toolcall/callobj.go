package toolcall

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
)

// callObject reads one JSON call object such as {"name": "f", "arguments":
// {...}} as it arrives. When the name comes before the arguments object
// (as templates render it and models write it), the call starts as soon
// as the arguments begin and they are streamed fragment by fragment;
// otherwise the object is read whole and the call emitted at its end.
type callObject struct {
	nameKeys []string      // keys holding the function name
	argKeys  []string      // keys holding the arguments
	idKey    string        // key holding the model's call id ("": none)
	noStream bool          // read whole (the id comes after the arguments)
	newID    func() string // makes an id when the model gave none (nil: out's)

	buf      []byte
	whole    jsonScan // the object itself: where it ends
	pos      int      // walk: the offset after the last whole key/value pair
	name     string
	haveName bool
	giveUp   bool // walk: order or form not streamable; read whole
	args     *jsonScan
	argsPos  int // the offset in buf up to which arguments were emitted
	done     bool
}

func newCallObject(nameKeys, argKeys []string) *callObject {
	return &callObject{nameKeys: nameKeys, argKeys: argKeys}
}

var errNotCall = errors.New("toolcall: not a tool call object")

// feed consumes s up to the end of the object and returns how many bytes
// it took; c.done says the object ended.
func (c *callObject) feed(o *out, s string) int {
	n := c.whole.feed(s)
	c.buf = append(c.buf, s[:n]...)
	if c.whole.err != nil {
		o.fail(c.whole.err)
		return n
	}
	if c.whole.started && c.buf[len(c.buf)-len(strings.TrimLeft(string(c.buf), spaces))] != '{' {
		o.fail(errNotCall)
		return n
	}
	if c.args == nil && !c.giveUp && !c.noStream {
		c.walk(o)
	}
	if c.args != nil {
		k := c.args.feed(string(c.buf[c.argsPos:]))
		o.arg(string(c.buf[c.argsPos : c.argsPos+k]))
		c.argsPos += k
	}
	if c.whole.done {
		c.done = true
		c.finishObject(o)
	}
	return n
}

// walk reads whole key/value pairs from c.pos until the arguments key.
// Incomplete pairs are read again on the next piece.
func (c *callObject) walk(o *out) {
	b := string(c.buf)
	i := c.pos
	skip := func() {
		for i < len(b) && strings.IndexByte(spaces, b[i]) >= 0 {
			i++
		}
	}
	if i == 0 {
		skip()
		if i >= len(b) {
			return
		}
		i++ // the '{' (checked by feed)
		c.pos = i
	}
	for {
		skip()
		if i < len(b) && b[i] == ',' {
			i++
			skip()
		}
		if i >= len(b) {
			return
		}
		if b[i] != '"' {
			c.giveUp = true // '}' or junk: the whole read decides
			return
		}
		k := scanValue(b[i:], false)
		if k < 0 {
			return
		}
		var key string
		if json.Unmarshal([]byte(b[i:i+k]), &key) != nil {
			c.giveUp = true
			return
		}
		i += k
		skip()
		if i >= len(b) {
			return
		}
		if b[i] != ':' {
			c.giveUp = true
			return
		}
		i++
		skip()
		if i >= len(b) {
			return
		}
		if slices.Contains(c.argKeys, key) {
			if !c.haveName || b[i] != '{' {
				c.giveUp = true
				return
			}
			o.start(c.name, "")
			c.args = &jsonScan{}
			c.argsPos = i
			return
		}
		v := scanValue(b[i:], false)
		if v == -2 {
			c.giveUp = true
			return
		}
		if v < 0 {
			return
		}
		if slices.Contains(c.nameKeys, key) && !c.haveName {
			if json.Unmarshal([]byte(b[i:i+v]), &c.name) != nil || c.name == "" {
				c.giveUp = true
				return
			}
			c.haveName = true
		}
		i += v
		c.pos = i
	}
}

// finishObject ends the call once the object is whole.
func (c *callObject) finishObject(o *out) {
	if !json.Valid(c.buf) {
		o.fail(errJSON)
		return
	}
	if c.args != nil {
		if !c.args.done {
			o.fail(errJSON)
			return
		}
		o.endCall()
		return
	}
	name, id, args, err := c.decode()
	if err != nil {
		o.fail(err)
		return
	}
	if id == "" && c.newID != nil {
		id = c.newID()
	}
	o.call(name, id, args)
}

// decode reads a whole call object.
func (c *callObject) decode() (name, id, args string, err error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(c.buf, &m); err != nil {
		return "", "", "", errNotCall
	}
	for _, k := range c.nameKeys {
		if v, ok := m[k]; ok && json.Unmarshal(v, &name) == nil {
			break
		}
	}
	if name == "" {
		return "", "", "", errNotCall
	}
	if c.idKey != "" {
		if v, ok := m[c.idKey]; ok {
			_ = json.Unmarshal(v, &id) // a non-string id is ignored: we make one
		}
	}
	args = "{}"
	for _, k := range c.argKeys {
		if v, ok := m[k]; ok {
			args, err = argsText(v)
			break
		}
	}
	return name, id, args, err
}

// argsText turns an arguments value into OpenAI's arguments string: an
// object as written, null as {}, and a string holding JSON (some models
// encode arguments twice) as the JSON it holds.
func argsText(v json.RawMessage) (string, error) {
	t := strings.TrimSpace(string(v))
	switch {
	case strings.HasPrefix(t, "{"):
		return t, nil
	case t == "null":
		return "{}", nil
	case strings.HasPrefix(t, `"`):
		var s string
		if json.Unmarshal(v, &s) == nil && strings.HasPrefix(strings.TrimSpace(s), "{") && json.Valid([]byte(s)) {
			return strings.TrimSpace(s), nil
		}
	}
	return "", errNotCall
}

// end reports an object cut short.
func (c *callObject) end(o *out) {
	if !c.done {
		o.fail(errUnterminated)
	}
}

// argsObject streams a bare arguments object ({...} after a name marker):
// every byte of it is an arguments fragment.
type argsObject struct {
	scan jsonScan
	seen bool
}

// feed consumes s up to the end of the object, emitting it as arguments,
// and returns how many bytes it took.
func (a *argsObject) feed(o *out, s string) int {
	n := a.scan.feed(s)
	piece := s[:n]
	if !a.seen {
		t := strings.TrimLeft(piece, spaces)
		if t != "" {
			a.seen = true
			if t[0] != '{' {
				o.fail(errNotCall)
				return n
			}
		}
		piece = t
	}
	if a.scan.err != nil {
		o.fail(a.scan.err)
		return n
	}
	o.arg(piece)
	return n
}

func (a *argsObject) done() bool { return a.scan.done }
