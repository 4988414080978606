package localcloud

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// dynamodbService emulates DynamoDB (JSON 1.0) for tables with a string or number partition key:
// CreateTable, DescribeTable, GetItem, PutItem and UpdateItem, with ConditionExpression evaluated
// under one lock per call, so that a conditional write is as strongly consistent as AWS makes it
// within one region. Tables are per region: a table in us-east-1 is not the table of the same name
// in us-west-2.
//
// What it refuses as AWS does: a missing table (ResourceNotFoundException), a failed condition
// (ConditionalCheckFailedException, with the old item when ReturnValuesOnConditionCheckFailure is
// ALL_OLD), a key that does not match the schema, an undefined or an unused expression attribute
// name or value (ValidationException). What it does less than AWS: condition expressions support
// comparisons, AND, OR, NOT, parentheses, attribute_exists and attribute_not_exists on top-level
// attributes; update expressions support SET with plain values; reserved words are not checked.
type dynamodbService struct {
	s *Server

	mu     sync.Mutex
	tables map[string]*ddbTable // by region + "/" + name
}

type ddbTable struct {
	name, region string
	key          string // partition key attribute
	keyType      string // S or N
	items        map[string]ddbItem
}

// ddbItem is an item in DynamoDB JSON: attribute name → {"S": "..."} and so on.
type ddbItem map[string]map[string]any

func newDynamoDBService(s *Server) *dynamodbService {
	return &dynamodbService{s: s, tables: map[string]*ddbTable{}}
}

const ddbErrPrefix = "com.amazonaws.dynamodb.v20120810#"

func ddbErr(status int, code, format string, args ...any) *APIError {
	return errorf(status, ddbErrPrefix+code, format, args...)
}

func ddbValidation(format string, args ...any) *APIError {
	return ddbErr(http.StatusBadRequest, "ValidationException", format, args...)
}

// ddbCondFailed carries the old item for ReturnValuesOnConditionCheckFailure=ALL_OLD.
type ddbCondFailed struct {
	*APIError
	item ddbItem
}

func (f *dynamodbService) serve(w http.ResponseWriter, req *request) {
	requestID := f.s.requestID()
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	writeErr := func(e *APIError, item ddbItem) {
		body := map[string]any{"__type": e.Code, "message": e.Message}
		if item != nil {
			body["Item"] = item
		}
		b, _ := json.Marshal(body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("x-amzn-RequestId", requestID)
		w.Header().Set("X-Amz-Crc32", crc32Header(b))
		w.WriteHeader(e.Status)
		w.Write(b)
	}
	if e := f.s.admit(req, "dynamodb:"+op, func() *APIError {
		return ddbErr(http.StatusBadRequest, "ThrottlingException", "Rate of requests exceeds the allowed throughput.")
	}); e != nil {
		writeErr(e, nil)
		return
	}
	var in map[string]json.RawMessage
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil {
		writeErr(ddbErr(http.StatusBadRequest, "SerializationException", "the request body is not JSON: %v", err), nil)
		return
	}
	var out any
	var err error
	switch op {
	case "CreateTable":
		out, err = f.createTable(req.region, in)
	case "DescribeTable":
		out, err = f.describeTable(req.region, in)
	case "GetItem":
		out, err = f.getItem(req.region, in)
	case "PutItem":
		out, err = f.putItem(req.region, in)
	case "UpdateItem":
		out, err = f.updateItem(req.region, in)
	default:
		err = ddbErr(http.StatusBadRequest, "UnknownOperationException", "localcloud emulates CreateTable, DescribeTable, GetItem, PutItem and UpdateItem, not %s", op)
	}
	if err != nil {
		if cf, ok := err.(*ddbCondFailed); ok {
			writeErr(cf.APIError, cf.item)
			return
		}
		writeErr(asAPIError(err), nil)
		return
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.Header().Set("X-Amz-Crc32", crc32Header(b))
	w.Write(b)
}

// crc32Header is DynamoDB's x-amz-crc32: the IEEE CRC-32 of the response body, in decimal. The
// SDKs check it (aws-sdk-go-v2 warns on every response without it, and retries a mismatch).
func crc32Header(body []byte) string { return strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10) }

func field[T any](in map[string]json.RawMessage, name string, dst *T) error {
	raw, ok := in[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return ddbErr(http.StatusBadRequest, "SerializationException", "%s: %v", name, err)
	}
	return nil
}

func (f *dynamodbService) createTable(region string, in map[string]json.RawMessage) (any, error) {
	var name string
	var keys []struct{ AttributeName, KeyType string }
	var defs []struct{ AttributeName, AttributeType string }
	for _, err := range []error{field(in, "TableName", &name), field(in, "KeySchema", &keys), field(in, "AttributeDefinitions", &defs)} {
		if err != nil {
			return nil, err
		}
	}
	if name == "" {
		return nil, ddbValidation("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
	}
	if len(keys) != 1 || keys[0].KeyType != "HASH" {
		return nil, ddbValidation("localcloud emulates tables with a partition key only (one HASH element in KeySchema)")
	}
	t := &ddbTable{name: name, region: region, key: keys[0].AttributeName, items: map[string]ddbItem{}}
	for _, d := range defs {
		if d.AttributeName == t.key {
			t.keyType = d.AttributeType
		}
	}
	if t.keyType != "S" && t.keyType != "N" {
		return nil, ddbValidation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: %v", t.key, defs)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.tables[region+"/"+name]; ok {
		return nil, ddbErr(http.StatusBadRequest, "ResourceInUseException", "Table already exists: %s", name)
	}
	f.tables[region+"/"+name] = t
	return map[string]any{"TableDescription": t.describe(f.s.account)}, nil
}

func (t *ddbTable) describe(account string) map[string]any {
	return map[string]any{
		"TableName": t.name, "TableStatus": "ACTIVE", "ItemCount": len(t.items),
		"TableArn":             fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", t.region, account, t.name),
		"KeySchema":            []map[string]string{{"AttributeName": t.key, "KeyType": "HASH"}},
		"AttributeDefinitions": []map[string]string{{"AttributeName": t.key, "AttributeType": t.keyType}},
		"BillingModeSummary":   map[string]string{"BillingMode": "PAY_PER_REQUEST"},
	}
}

// table finds a table; the caller holds f.mu.
func (f *dynamodbService) table(region string, in map[string]json.RawMessage) (*ddbTable, error) {
	var name string
	if err := field(in, "TableName", &name); err != nil {
		return nil, err
	}
	t, ok := f.tables[region+"/"+name]
	if !ok {
		return nil, ddbErr(http.StatusBadRequest, "ResourceNotFoundException", "Requested resource not found")
	}
	return t, nil
}

func (f *dynamodbService) describeTable(region string, in map[string]json.RawMessage) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.table(region, in)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Table": t.describe(f.s.account)}, nil
}

// keyOf checks that key holds exactly the table's key, of the right type, and returns its value.
func (t *ddbTable) keyOf(key ddbItem, whole bool) (string, error) {
	v, ok := key[t.key]
	if !ok {
		if whole {
			return "", ddbValidation("One or more parameter values were invalid: Missing the key %s in the item", t.key)
		}
		return "", ddbValidation("The provided key element does not match the schema")
	}
	s, ok := v[t.keyType].(string)
	if !ok || len(v) != 1 {
		if whole {
			return "", ddbValidation("One or more parameter values were invalid: Type mismatch for key %s expected: %s actual: %s", t.key, t.keyType, typeOf(v))
		}
		return "", ddbValidation("The provided key element does not match the schema")
	}
	if !whole && len(key) != 1 {
		return "", ddbValidation("The provided key element does not match the schema")
	}
	return s, nil
}

func typeOf(v map[string]any) string {
	for k := range v {
		return k
	}
	return ""
}

func (f *dynamodbService) getItem(region string, in map[string]json.RawMessage) (any, error) {
	var key ddbItem
	if err := field(in, "Key", &key); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.table(region, in)
	if err != nil {
		return nil, err
	}
	k, err := t.keyOf(key, false)
	if err != nil {
		return nil, err
	}
	if item, ok := t.items[k]; ok {
		return map[string]any{"Item": item}, nil
	}
	return map[string]any{}, nil
}

// exprInput is what a conditional write carries besides its item or update.
type exprInput struct {
	condition string
	names     map[string]string
	values    ddbItem
	allOld    bool
}

func readExpr(in map[string]json.RawMessage) (exprInput, error) {
	var e exprInput
	var rv string
	for _, err := range []error{field(in, "ConditionExpression", &e.condition), field(in, "ExpressionAttributeNames", &e.names),
		field(in, "ExpressionAttributeValues", &e.values), field(in, "ReturnValuesOnConditionCheckFailure", &rv)} {
		if err != nil {
			return e, err
		}
	}
	if _, ok := in["Expected"]; ok {
		return e, ddbValidation("localcloud does not emulate the legacy Expected parameter: use ConditionExpression")
	}
	e.allOld = rv == "ALL_OLD"
	return e, nil
}

func (f *dynamodbService) putItem(region string, in map[string]json.RawMessage) (any, error) {
	var item ddbItem
	if err := field(in, "Item", &item); err != nil {
		return nil, err
	}
	e, err := readExpr(in)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.table(region, in)
	if err != nil {
		return nil, err
	}
	k, err := t.keyOf(item, true)
	if err != nil {
		return nil, err
	}
	if _, err := t.checkCondition(k, e, &exprUse{e: e}); err != nil {
		return nil, err
	}
	t.items[k] = item
	return map[string]any{}, nil
}

// checkCondition parses the request's condition expression, refuses placeholders nothing used (u
// has seen every other expression of the request by then), and holds the condition against the
// item at k: it returns that item, or ConditionalCheckFailedException.
func (t *ddbTable) checkCondition(k string, e exprInput, u *exprUse) (ddbItem, error) {
	var cond node
	if e.condition != "" {
		var err error
		if cond, err = parseCondition(e.condition, u); err != nil {
			return nil, err
		}
	}
	if err := u.checkUnused(); err != nil {
		return nil, err
	}
	old := t.items[k]
	if cond != nil && !cond.eval(old) {
		return nil, condFailed(old, e.allOld)
	}
	return old, nil
}

func condFailed(old ddbItem, allOld bool) error {
	cf := &ddbCondFailed{APIError: ddbErr(http.StatusBadRequest, "ConditionalCheckFailedException", "The conditional request failed")}
	if allOld && old != nil {
		cf.item = old
	}
	return cf
}

func (f *dynamodbService) updateItem(region string, in map[string]json.RawMessage) (any, error) {
	var key ddbItem
	var update string
	if err := field(in, "Key", &key); err != nil {
		return nil, err
	}
	if err := field(in, "UpdateExpression", &update); err != nil {
		return nil, err
	}
	e, err := readExpr(in)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.table(region, in)
	if err != nil {
		return nil, err
	}
	k, err := t.keyOf(key, false)
	if err != nil {
		return nil, err
	}
	u := &exprUse{e: e}
	sets, err := parseSet(update, u)
	if err != nil {
		return nil, err
	}
	old, err := t.checkCondition(k, e, u)
	if err != nil {
		return nil, err
	}
	next := ddbItem{}
	for a, v := range old {
		next[a] = v
	}
	for a, v := range key {
		next[a] = v
	}
	for _, s := range sets {
		if s.attr == t.key {
			return nil, ddbValidation("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", s.attr)
		}
		next[s.attr] = s.value
	}
	t.items[k] = next
	return map[string]any{}, nil
}

// exprUse resolves placeholders and remembers which were used: AWS refuses unused ones.
type exprUse struct {
	e          exprInput
	usedNames  map[string]bool
	usedValues map[string]bool
}

func (u *exprUse) name(tok string) (string, error) {
	if !strings.HasPrefix(tok, "#") {
		return tok, nil
	}
	n, ok := u.e.names[tok]
	if !ok {
		return "", ddbValidation("Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: %s", tok)
	}
	if u.usedNames == nil {
		u.usedNames = map[string]bool{}
	}
	u.usedNames[tok] = true
	return n, nil
}

func (u *exprUse) value(tok string) (map[string]any, error) {
	v, ok := u.e.values[tok]
	if !ok {
		return nil, ddbValidation("Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: %s", tok)
	}
	if u.usedValues == nil {
		u.usedValues = map[string]bool{}
	}
	u.usedValues[tok] = true
	return v, nil
}

func (u *exprUse) checkUnused() error {
	var names, values []string
	for k := range u.e.names {
		if !u.usedNames[k] {
			names = append(names, k)
		}
	}
	for k := range u.e.values {
		if !u.usedValues[k] {
			values = append(values, k)
		}
	}
	slices.Sort(names)
	slices.Sort(values)
	switch {
	case len(names) > 0:
		return ddbValidation("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", strings.Join(names, ", "))
	case len(values) > 0:
		return ddbValidation("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", strings.Join(values, ", "))
	}
	return nil
}

// tokenize splits an expression into names, placeholders, operators and parentheses.
func tokenize(src string) ([]string, error) {
	var toks []string
	r := []rune(src)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(' || c == ')' || c == ',' || c == '=':
			toks = append(toks, string(c))
			i++
		case c == '<' || c == '>':
			if i+1 < len(r) && (r[i+1] == '=' || (c == '<' && r[i+1] == '>')) {
				toks = append(toks, string(r[i:i+2]))
				i += 2
			} else {
				toks = append(toks, string(c))
				i++
			}
		case c == '#' || c == ':' || c == '_' || unicode.IsLetter(c) || unicode.IsDigit(c):
			j := i + 1
			for j < len(r) && (r[j] == '_' || unicode.IsLetter(r[j]) || unicode.IsDigit(r[j])) {
				j++
			}
			toks = append(toks, string(r[i:j]))
			i = j
		default:
			return nil, fmt.Errorf("Syntax error; token: %q, near: %q", string(c), src[max(0, len(string(r[:i]))-3):])
		}
	}
	return toks, nil
}

// node is a parsed condition.
type node interface{ eval(item ddbItem) bool }

type andNode struct{ l, r node }
type orNode struct{ l, r node }
type notNode struct{ n node }
type existsNode struct {
	attr string
	want bool
}
type cmpNode struct {
	op   string
	l, r operand
}

// operand is an attribute of the item or a literal value.
type operand struct {
	attr  string
	value map[string]any
}

func (n andNode) eval(it ddbItem) bool { return n.l.eval(it) && n.r.eval(it) }
func (n orNode) eval(it ddbItem) bool  { return n.l.eval(it) || n.r.eval(it) }
func (n notNode) eval(it ddbItem) bool { return !n.n.eval(it) }
func (n existsNode) eval(it ddbItem) bool {
	_, ok := it[n.attr]
	return ok == n.want
}

func (o operand) resolve(it ddbItem) map[string]any {
	if o.value != nil {
		return o.value
	}
	return it[o.attr]
}

func (n cmpNode) eval(it ddbItem) bool {
	l, r := n.l.resolve(it), n.r.resolve(it)
	if l == nil || r == nil || typeOf(l) != typeOf(r) {
		return n.op == "<>" && (l != nil || r != nil)
	}
	var c int
	switch typeOf(l) {
	case "N":
		a, _ := new(big.Float).SetString(fmt.Sprint(l["N"]))
		b, _ := new(big.Float).SetString(fmt.Sprint(r["N"]))
		if a == nil || b == nil {
			return false
		}
		c = a.Cmp(b)
	case "S":
		c = strings.Compare(fmt.Sprint(l["S"]), fmt.Sprint(r["S"]))
	default:
		lb, _ := json.Marshal(l)
		rb, _ := json.Marshal(r)
		if string(lb) == string(rb) {
			c = 0
		} else {
			c = 1
		}
	}
	switch n.op {
	case "=":
		return c == 0
	case "<>":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	default:
		return c >= 0
	}
}

type condParser struct {
	toks []string
	pos  int
	u    *exprUse
	src  string
}

func (p *condParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *condParser) next() string { t := p.peek(); p.pos++; return t }

func (p *condParser) fail(format string, args ...any) error {
	return ddbValidation("Invalid ConditionExpression: "+format, args...)
}

func parseCondition(src string, u *exprUse) (node, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, ddbValidation("Invalid ConditionExpression: %v", err)
	}
	p := &condParser{toks: toks, u: u, src: src}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, p.fail("Syntax error; token: %q", p.peek())
	}
	return n, nil
}

func (p *condParser) or() (node, error) {
	l, err := p.and()
	for err == nil && strings.EqualFold(p.peek(), "OR") {
		p.next()
		var r node
		if r, err = p.and(); err == nil {
			l = orNode{l, r}
		}
	}
	return l, err
}

func (p *condParser) and() (node, error) {
	l, err := p.not()
	for err == nil && strings.EqualFold(p.peek(), "AND") {
		p.next()
		var r node
		if r, err = p.not(); err == nil {
			l = andNode{l, r}
		}
	}
	return l, err
}

func (p *condParser) not() (node, error) {
	if strings.EqualFold(p.peek(), "NOT") {
		p.next()
		n, err := p.not()
		return notNode{n}, err
	}
	return p.primary()
}

func (p *condParser) primary() (node, error) {
	tok := p.next()
	switch {
	case tok == "(":
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, p.fail("Syntax error; a parenthesis is not closed")
		}
		return n, nil
	case tok == "attribute_exists" || tok == "attribute_not_exists":
		if p.next() != "(" {
			return nil, p.fail("Syntax error; %s needs a parenthesised path", tok)
		}
		attr, err := p.path(p.next())
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, p.fail("Syntax error; %s takes one path", tok)
		}
		return existsNode{attr: attr, want: tok == "attribute_exists"}, nil
	case tok == "":
		return nil, p.fail("Syntax error; the expression ends early")
	}
	l, err := p.operand(tok)
	if err != nil {
		return nil, err
	}
	op := p.next()
	if !slices.Contains([]string{"=", "<>", "<", "<=", ">", ">="}, op) {
		return nil, p.fail("Syntax error; token: %q (localcloud supports comparisons, AND, OR, NOT, attribute_exists and attribute_not_exists)", op)
	}
	r, err := p.operand(p.next())
	if err != nil {
		return nil, err
	}
	for _, o := range []operand{l, r} {
		if o.value != nil && op != "=" && op != "<>" && typeOf(o.value) != "N" && typeOf(o.value) != "S" && typeOf(o.value) != "B" {
			return nil, p.fail("Incorrect operand type for operator or function; operator or function: %s, operand type: %s", op, typeOf(o.value))
		}
	}
	return cmpNode{op: op, l: l, r: r}, nil
}

func (p *condParser) path(tok string) (string, error) {
	if tok == "" || strings.HasPrefix(tok, ":") || tok == "(" || tok == ")" {
		return "", p.fail("Syntax error; token: %q is not a document path", tok)
	}
	return p.u.name(tok)
}

func (p *condParser) operand(tok string) (operand, error) {
	if strings.HasPrefix(tok, ":") {
		v, err := p.u.value(tok)
		return operand{value: v}, err
	}
	a, err := p.path(tok)
	return operand{attr: a}, err
}

type setAction struct {
	attr  string
	value map[string]any
}

// parseSet reads "SET a = :v, #b = :w".
func parseSet(src string, u *exprUse) ([]setAction, error) {
	toks, err := tokenize(src)
	bad := func(format string, args ...any) error {
		return ddbValidation("Invalid UpdateExpression: "+format, args...)
	}
	if err != nil {
		return nil, bad("%v", err)
	}
	if len(toks) < 4 || !strings.EqualFold(toks[0], "SET") {
		return nil, bad("localcloud supports SET path = :value[, ...] only, not %q", src)
	}
	var out []setAction
	for i := 1; i < len(toks); i += 4 {
		if i+2 >= len(toks) || toks[i+1] != "=" || !strings.HasPrefix(toks[i+2], ":") || (i+3 < len(toks) && toks[i+3] != ",") {
			return nil, bad("localcloud supports SET path = :value[, ...] only, not %q", src)
		}
		attr, err := u.name(toks[i])
		if err != nil {
			return nil, err
		}
		v, err := u.value(toks[i+2])
		if err != nil {
			return nil, err
		}
		out = append(out, setAction{attr: attr, value: v})
	}
	return out, nil
}
