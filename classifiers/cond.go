package classifiers

import "github.com/expr-lang/expr/ast"

// cond is a rule condition of the common shape — boolean facts joined by
// and, or and not, and counts or amounts compared with a whole number —
// compiled to a tree evaluated on the state's facts without the expr VM
// (the VM's map lookups per fact were most of the rules' cost). Any other
// shape runs on the VM; TestNativeConditionsMatchVM checks the two agree.
type cond struct {
	op   condOp
	fact int    // condFact, condCmp: fact id
	cmp  string // condCmp: operator
	num  int    // condCmp: the number
	kids []cond // condNot: one; condAnd, condOr: two or more
}

type condOp uint8

const (
	condFact condOp = iota // a boolean fact is true
	condNot
	condAnd
	condOr
	condCmp // an int fact compared with a number
)

// compileCond compiles n, or reports false when it has another shape.
func (e *Engine) compileCond(n ast.Node) (cond, bool) {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		if id, ok := e.factID[x.Value]; ok {
			if _, isBool := e.factKinds[x.Value].(bool); isBool {
				return cond{op: condFact, fact: id}, true
			}
		}
	case *ast.UnaryNode:
		if x.Operator == "!" || x.Operator == "not" {
			if k, ok := e.compileCond(x.Node); ok {
				return cond{op: condNot, kids: []cond{k}}, true
			}
		}
	case *ast.BinaryNode:
		switch x.Operator {
		case "&&", "and", "||", "or":
			l, ok1 := e.compileCond(x.Left)
			r, ok2 := e.compileCond(x.Right)
			if !ok1 || !ok2 {
				return cond{}, false
			}
			op := condAnd
			if x.Operator == "||" || x.Operator == "or" {
				op = condOr
			}
			// a && b && c as one node of three
			var kids []cond
			for _, k := range []cond{l, r} {
				if k.op == op {
					kids = append(kids, k.kids...)
				} else {
					kids = append(kids, k)
				}
			}
			return cond{op: op, kids: kids}, true
		case ">", ">=", "<", "<=", "==", "!=":
			id, ok := x.Left.(*ast.IdentifierNode)
			num, isInt := x.Right.(*ast.IntegerNode)
			if !ok || !isInt {
				return cond{}, false
			}
			fid, known := e.factID[id.Value]
			if _, intFact := e.factKinds[id.Value].(int); !known || !intFact {
				return cond{}, false
			}
			return cond{op: condCmp, fact: fid, cmp: x.Operator, num: num.Value}, true
		}
	}
	return cond{}, false
}

// eval evaluates c on st's facts.
func (c *cond) eval(st *state) bool {
	switch c.op {
	case condFact:
		return st.truthy[c.fact]
	case condNot:
		return !c.kids[0].eval(st)
	case condAnd:
		for i := range c.kids {
			if !c.kids[i].eval(st) {
				return false
			}
		}
		return true
	case condOr:
		for i := range c.kids {
			if c.kids[i].eval(st) {
				return true
			}
		}
		return false
	case condCmp:
		v := 0
		if st.truthy[c.fact] {
			v = st.nums[c.fact]
		}
		switch c.cmp {
		case ">":
			return v > c.num
		case ">=":
			return v >= c.num
		case "<":
			return v < c.num
		case "<=":
			return v <= c.num
		case "==":
			return v == c.num
		case "!=":
			return v != c.num
		}
	}
	return false
}
