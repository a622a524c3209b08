/**
 * Reads an XML-RPC `methodCall` just far enough to know its method and its first parameter. Pure.
 *
 * Odoo parses these bodies with Python's `xmlrpc.client.loads` (expat + a very lenient
 * unmarshaller that ignores document structure and simply stacks values in document order). A
 * guard that reads a document differently from Odoo can be bypassed, so this parser is strict
 * instead: it accepts only the plain shape real clients send and returns undefined for anything
 * else (DOCTYPE and entity declarations, processing instructions, namespaced or unknown tags,
 * attributes, stray text, a second `methodName`, encodings other than UTF-8). For every document
 * it accepts, Python's first stacked value is the first `<param>`'s value, so both read the same
 * database name.
 */

interface XmlElement {
  name: string;
  children: XmlNode[];
}
type XmlNode = XmlElement | string;

export type XmlRpcValue = { type: 'string'; value: string } | { type: 'other' };

export interface XmlRpcCall {
  methodName: string;
  params: XmlRpcValue[];
}

class XmlSyntaxError extends Error {}

const NAME = /^[A-Za-z_][A-Za-z0-9._-]*/;
const WHITESPACE = /^[ \t\r\n]*$/;
const PREDEFINED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const ACCEPTED_ENCODINGS = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);
/** Real calls nest a few levels; the limit keeps hostile nesting from exhausting the stack. */
const MAX_DEPTH = 64;
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/** A minimal, strict XML reader producing elements and text (comments dropped, CDATA as text). */
class XmlReader {
  private pos = 0;
  constructor(private readonly text: string) {}

  parseDocument(): XmlElement {
    if (this.text.startsWith('\uFEFF')) this.pos = 1;
    if (this.text.startsWith('<?xml', this.pos)) this.readDeclaration();
    this.skipMisc();
    if (this.text[this.pos] !== '<') throw new XmlSyntaxError('expected the root element');
    const root = this.readElement();
    this.skipMisc();
    if (this.pos !== this.text.length) throw new XmlSyntaxError('content after the root element');
    return root;
  }

  private readDeclaration(): void {
    const end = this.text.indexOf('?>', this.pos);
    if (end < 0) throw new XmlSyntaxError('unterminated XML declaration');
    const declaration = this.text.slice(this.pos + 5, end);
    // `<?xml-stylesheet` and friends are processing instructions, not the declaration.
    if (!/^[ \t\r\n]/.test(declaration)) throw new XmlSyntaxError('processing instruction');
    const encoding = /encoding[ \t\r\n]*=[ \t\r\n]*["']([^"']*)["']/.exec(declaration)?.[1];
    // expat honours the declared encoding; this reader only speaks UTF-8.
    if (encoding !== undefined && !ACCEPTED_ENCODINGS.has(encoding.toLowerCase())) throw new XmlSyntaxError('unsupported encoding');
    this.pos = end + 2;
  }

  /** Whitespace and comments between top-level constructs. */
  private skipMisc(): void {
    for (;;) {
      const match = /^[ \t\r\n]+/.exec(this.text.slice(this.pos, this.pos + 4096));
      if (match) this.pos += match[0].length;
      else if (this.text.startsWith('<!--', this.pos)) this.skipComment();
      else return;
    }
  }

  private skipComment(): void {
    const end = this.text.indexOf('-->', this.pos + 4);
    if (end < 0) throw new XmlSyntaxError('unterminated comment');
    if (this.text.slice(this.pos + 4, end).includes('--')) throw new XmlSyntaxError('"--" inside a comment');
    this.pos = end + 3;
  }

  private readName(): string {
    const match = NAME.exec(this.text.slice(this.pos, this.pos + 256));
    if (!match) throw new XmlSyntaxError('expected a tag name');
    this.pos += match[0].length;
    return match[0];
  }

  private skipSpaces(): void {
    while (/[ \t\r\n]/.test(this.text[this.pos] ?? '')) this.pos += 1;
  }

  private readElement(depth = 0): XmlElement {
    if (depth > MAX_DEPTH) throw new XmlSyntaxError('elements nested too deeply');
    this.pos += 1; // '<'
    const name = this.readName();
    this.skipSpaces();
    // Attributes (and namespace prefixes, refused by NAME) play no part in XML-RPC.
    if (this.text.startsWith('/>', this.pos)) {
      this.pos += 2;
      return { name, children: [] };
    }
    if (this.text[this.pos] !== '>') throw new XmlSyntaxError(`unexpected content in <${name}>`);
    this.pos += 1;
    const children: XmlNode[] = [];
    for (;;) {
      if (this.pos >= this.text.length) throw new XmlSyntaxError(`unclosed <${name}>`);
      if (this.text.startsWith('</', this.pos)) {
        this.pos += 2;
        const closing = this.readName();
        this.skipSpaces();
        if (closing !== name || this.text[this.pos] !== '>') throw new XmlSyntaxError(`mismatched </${closing}>`);
        this.pos += 1;
        return { name, children };
      }
      if (this.text.startsWith('<!--', this.pos)) this.skipComment();
      else if (this.text.startsWith('<![CDATA[', this.pos)) {
        const end = this.text.indexOf(']]>', this.pos + 9);
        if (end < 0) throw new XmlSyntaxError('unterminated CDATA section');
        children.push(normaliseNewlines(this.text.slice(this.pos + 9, end)));
        this.pos = end + 3;
      } else if (this.text[this.pos] === '<') {
        if (!NAME.test(this.text.slice(this.pos + 1, this.pos + 2))) throw new XmlSyntaxError('markup other than an element');
        children.push(this.readElement(depth + 1));
      } else children.push(this.readText());
    }
  }

  private readText(): string {
    let out = '';
    while (this.pos < this.text.length && this.text[this.pos] !== '<') {
      const amp = this.text.indexOf('&', this.pos);
      const lt = this.text.indexOf('<', this.pos);
      const stop = lt < 0 ? this.text.length : lt;
      if (amp < 0 || amp > stop) {
        out += normaliseNewlines(this.text.slice(this.pos, stop));
        this.pos = stop;
        break;
      }
      out += normaliseNewlines(this.text.slice(this.pos, amp));
      const semicolon = this.text.indexOf(';', amp);
      if (semicolon < 0 || semicolon - amp > 12) throw new XmlSyntaxError('bad entity reference');
      out += decodeReference(this.text.slice(amp + 1, semicolon));
      this.pos = semicolon + 1;
    }
    if (NOT_XML_CHAR.test(out)) throw new XmlSyntaxError('character not allowed in XML');
    return out;
  }
}

/** expat reports `\r\n` and a lone `\r` in text as `\n`. */
function normaliseNewlines(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

function decodeReference(reference: string): string {
  const predefined = PREDEFINED_ENTITIES[reference];
  if (predefined !== undefined) return predefined;
  const numeric = /^#(?:([0-9]{1,7})|x([0-9a-fA-F]{1,6}))$/.exec(reference);
  if (!numeric) throw new XmlSyntaxError(`unknown entity &${reference};`);
  const code = numeric[1] !== undefined ? Number.parseInt(numeric[1], 10) : Number.parseInt(numeric[2] ?? '', 16);
  if (!isXmlChar(code)) throw new XmlSyntaxError('character reference to a character not allowed in XML');
  return String.fromCodePoint(code);
}

// ---- the XML-RPC shape --------------------------------------------------------------------

const SCALAR_TYPES = new Set([
  'boolean',
  'int',
  'i1',
  'i2',
  'i4',
  'i8',
  'biginteger',
  'double',
  'float',
  'bigdecimal',
  'base64',
  'dateTime.iso8601',
]);

/** The child elements of a structural element; any non-blank text makes the document invalid. */
function elementsOf(element: XmlElement): XmlElement[] {
  const elements: XmlElement[] = [];
  for (const child of element.children) {
    if (typeof child === 'string') {
      if (!WHITESPACE.test(child)) throw new XmlSyntaxError(`text inside <${element.name}>`);
    } else elements.push(child);
  }
  return elements;
}

function textOf(element: XmlElement): string {
  let text = '';
  for (const child of element.children) {
    if (typeof child !== 'string') throw new XmlSyntaxError(`element inside <${element.name}>`);
    text += child;
  }
  return text;
}

function readValue(value: XmlElement): XmlRpcValue {
  if (value.name !== 'value') throw new XmlSyntaxError(`<${value.name}> where <value> was expected`);
  // A value without a type element is a string (the XML-RPC spec, and Python's unmarshaller).
  if (value.children.every((child) => typeof child === 'string')) return { type: 'string', value: textOf(value) };
  const elements = elementsOf(value);
  const typed = elements[0];
  if (elements.length !== 1 || typed === undefined) throw new XmlSyntaxError('a <value> holds one typed element');
  if (typed.name === 'string') return { type: 'string', value: textOf(typed) };
  if (SCALAR_TYPES.has(typed.name)) {
    textOf(typed);
    return { type: 'other' };
  }
  if (typed.name === 'nil') {
    if (typed.children.length > 0) throw new XmlSyntaxError('<nil> must be empty');
    return { type: 'other' };
  }
  if (typed.name === 'array') {
    const data = elementsOf(typed);
    if (data.length !== 1 || data[0]?.name !== 'data') throw new XmlSyntaxError('<array> holds one <data>');
    for (const item of elementsOf(data[0])) readValue(item);
    return { type: 'other' };
  }
  if (typed.name === 'struct') {
    for (const member of elementsOf(typed)) {
      const parts = elementsOf(member);
      if (member.name !== 'member' || parts.length !== 2 || parts[0]?.name !== 'name' || parts[1] === undefined) {
        throw new XmlSyntaxError('<struct> holds <member><name/><value/></member>');
      }
      textOf(parts[0]);
      readValue(parts[1]);
    }
    return { type: 'other' };
  }
  throw new XmlSyntaxError(`unknown value type <${typed.name}>`);
}

/** Parses an XML-RPC request body; undefined when it is not a plain, well-formed `methodCall`. */
export function parseXmlRpcCall(body: string): XmlRpcCall | undefined {
  try {
    const root = new XmlReader(body).parseDocument();
    if (root.name !== 'methodCall') return undefined;
    const parts = elementsOf(root);
    const [nameElement, paramsElement, ...rest] = parts;
    if (nameElement?.name !== 'methodName' || rest.length > 0) return undefined;
    const methodName = textOf(nameElement);
    const params: XmlRpcValue[] = [];
    if (paramsElement !== undefined) {
      if (paramsElement.name !== 'params') return undefined;
      for (const param of elementsOf(paramsElement)) {
        const inner = elementsOf(param);
        if (param.name !== 'param' || inner.length !== 1 || inner[0] === undefined) return undefined;
        params.push(readValue(inner[0]));
      }
    }
    return { methodName, params };
  } catch (error) {
    if (error instanceof XmlSyntaxError) return undefined;
    throw error;
  }
}
