/*! rumvault browser agent 1.0.0. One tag: <script defer src=".../rum-1.0.0.js" data-key="rvpub_...">.
 * What it captures, what it never reads, and its API: docs/browser-agent.md in rumvault.
 * Masking here mirrors rumvault's server maskers (privacy/detectors.py, privacy/uri.py);
 * tests/vectors/masking.json holds the cases both must answer the same way. */
(function (root, factory) {
  "use strict";
  var agent = factory();
  if (typeof module === "object" && module.exports) module.exports = agent; // node --test
  else if (root && root.document) agent.boot(root);
})(typeof window === "undefined" ? this : window, function () {
  "use strict";
  var VERSION = "1.0.3";
  var MASK = "<masked>";
  var MAX_PASSES = 16;

  function untilStable(step, text) {
    for (var i = 0; i < MAX_PASSES; i++) {
      var next = step(text);
      if (next === text) return next;
      text = next;
    }
    return text;
  }

  // --- normalisation (privacy/normalise.py) -------------------------------------------
  var ASCII = /^[\x00-\x7f]*$/;
  // Regular expressions over Unicode properties cost milliseconds to build, so they are
  // built on first use: most pages never send a character outside ASCII.
  var unicodeRegExps = {};
  function unicode(name, source, flags) {
    return unicodeRegExps[name] || (unicodeRegExps[name] = new RegExp(source, flags));
  }
  // The "0" of every run of ten decimal digits outside ASCII (Unicode 14, as the server's).
  var DIGIT_ZEROS = ("660,6f0,7c0,966,9e6,a66,ae6,b66,be6,c66,ce6,d66,de6,e50,ed0,f20,1040,1090," +
    "17e0,1810,1946,19d0,1a80,1a90,1b50,1bb0,1c40,1c50,a620,a8d0,a900,a9d0,a9f0,aa50,abf0," +
    "ff10,104a0,10d30,11066,110f0,11136,111d0,112f0,11450,114d0,11650,116c0,11730,118e0,11950," +
    "11c50,11d50,11da0,16a60,16ac0,16b50,1d7ce,1d7d8,1d7e2,1d7ec,1d7f6,1e140,1e2f0,1e950,1fbf0")
    .split(",").map(function (hex) { return parseInt(hex, 16); });
  var LABEL_DOTS = /[\u3002\uff0e\uff61]/g;

  function asciiDigit(ch) {
    var cp = ch.codePointAt(0), zero = 0;
    for (var i = 0; i < DIGIT_ZEROS.length && DIGIT_ZEROS[i] <= cp; i++) zero = DIGIT_ZEROS[i];
    return cp - zero < 10 ? String(cp - zero) : ch; // a digit newer than the table: as it is
  }

  function normaliseOnce(text) {
    var ignorable = unicode("ignorable", "[\\p{Cf}\\p{Default_Ignorable_Code_Point}]+", "gu");
    text = text.replace(ignorable, "").normalize("NFKC").replace(ignorable, "");
    return text.replace(unicode("digit", "(?![0-9])\\p{Nd}", "gu"), asciiDigit).replace(LABEL_DOTS, ".");
  }

  function normaliseText(text) {
    return ASCII.test(text) ? text : untilStable(normaliseOnce, text);
  }

  // --- percent decoding, as Python's urllib.parse.unquote --------------------------------
  // mode: "replace" (invalid UTF-8 becomes U+FFFD), "strict" (throws), "latin1".
  function unquote(text, mode) {
    if (text.indexOf("%") < 0) return text;
    return text.replace(/[\x00-\x7f]+/g, function (run) {
      if (run.indexOf("%") < 0) return run;
      var bytes = [];
      for (var i = 0; i < run.length; i++) {
        var hex = run.slice(i + 1, i + 3);
        if (run[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
          bytes.push(parseInt(hex, 16));
          i += 2;
        } else bytes.push(run.charCodeAt(i));
      }
      if (mode === "latin1") return String.fromCharCode.apply(null, bytes);
      return new TextDecoder("utf-8", { fatal: mode === "strict" }).decode(new Uint8Array(bytes));
    });
  }

  function unquotePlus(text) {
    return unquote(text.replace(/\+/g, " "), "replace");
  }

  function unquoteReplace(text) {
    return unquote(text, "replace");
  }

  // --- detectors (privacy/detectors.py) --------------------------------------------------
  // Each step takes the text and what to put in place of a found span (rules may ask for
  // something other than MASK), and returns the text.
  function maskAll(found) { return MASK; } // eslint-disable-line no-unused-vars

  function luhnValid(digits) {
    if (!/^[0-9]+$/.test(digits)) return false;
    var total = 0;
    for (var i = 0; i < digits.length; i++) {
      var value = digits.charCodeAt(digits.length - 1 - i) - 48;
      if (i % 2) value = value > 4 ? value * 2 - 9 : value * 2;
      total += value;
    }
    return total % 10 === 0;
  }

  function ibanDigits(text) {
    return text.replace(/[A-Z]/g, function (letter) { return String(letter.charCodeAt(0) - 55); });
  }

  function mod97(digits, remainder) {
    for (var i = 0; i < digits.length; i++) remainder = (remainder * 10 + digits.charCodeAt(i) - 48) % 97;
    return remainder;
  }

  function ibanValid(candidate) {
    var compact = candidate.replace(/ /g, "");
    if (!ASCII.test(compact)) return false;
    compact = compact.toUpperCase();
    if (!/^[A-Z]{2}(?:0[2-9]|[1-8][0-9]|9[0-8])[A-Z0-9]{11,30}$/.test(compact)) return false;
    return mod97(ibanDigits(compact.slice(4) + compact.slice(0, 4)), 0) === 1;
  }

  // One pattern, two alphabets, as on the server: ASCII text (the common case) gets the
  // cheap one; internationalised addresses the Unicode one (letters, digits, marks).
  function emailSource(word, letter) {
    return "(?<![" + word + ".+%-])(?:[" + word + ".+-]|%[0-9A-Fa-f]{2})+(?:@|%40)" +
      "[" + word + "-]+(?:\\.[" + word + "-]+)*\\.[" + letter + "][" + word + "-]+";
  }
  var ASCII_EMAIL = new RegExp(emailSource("A-Za-z0-9_", "A-Za-z"), "g");
  var JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2}/g;
  var UUID = /(?<![0-9A-Za-z])[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}(?![0-9A-Za-z])/g;
  var IBAN_COMPACT = /(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}[A-Za-z0-9]{11,30}(?![A-Za-z0-9])/g;
  var IBAN_GROUPED_START = /(?<![A-Za-z0-9])(?=[A-Za-z]{2}[0-9]{2} [A-Za-z0-9])/g;
  var IBAN_GROUPED = /[A-Za-z]{2}[0-9]{2}(?: [A-Za-z0-9]{4}(?![A-Za-z0-9])){1,7}(?: [A-Za-z0-9]{1,3}(?![A-Za-z0-9]))?/y;
  var IPV6_RUN = /(?<![0-9A-Za-z])[0-9A-Fa-f:.]+/g;
  var IPV4 = /(?<![0-9])(?:(?<![0-9]\.)[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![0-9]|\.[0-9])|(?<![0-9]-)[0-9]{1,3}(?:-[0-9]{1,3}){3}(?![0-9]|-[0-9]))/g;
  var DIGIT_RUN = /(?<![0-9])[0-9]{3,}(?:[ .-][0-9]{3,})*/g;

  function maskEmails(text, sub) {
    if (text.indexOf("@") < 0 && text.indexOf("%40") < 0) return text;
    var pattern = ASCII.test(text) ? ASCII_EMAIL :
      unicode("email", emailSource("\\p{L}\\p{N}\\p{M}_", "\\p{L}\\p{Nl}\\p{No}"), "gu");
    return text.replace(pattern, sub);
  }

  function maskJwts(text, sub) { return text.replace(JWT, sub); }
  function maskUuids(text, sub) { return text.replace(UUID, sub); }

  function maskCompactIbans(text, sub) {
    return text.replace(IBAN_COMPACT, function (found) { return ibanValid(found) ? sub(found) : found; });
  }

  function maskGroupedIbans(text, sub) {
    var pieces = [], cursor = 0, start;
    IBAN_GROUPED_START.lastIndex = 0;
    while ((start = IBAN_GROUPED_START.exec(text))) {
      var begin = start.index;
      IBAN_GROUPED_START.lastIndex = begin + 1;
      if (begin < cursor) continue;
      IBAN_GROUPED.lastIndex = begin;
      var shape = IBAN_GROUPED.exec(text);
      if (!shape) continue;
      var words = shape[0].split(" ");
      var count = groupedIbanWordCount(words);
      if (count) {
        var end = begin + words.slice(0, count).join(" ").length;
        pieces.push(text.slice(cursor, begin), sub(text.slice(begin, end)));
        cursor = end;
      }
    }
    pieces.push(text.slice(cursor));
    return pieces.join("");
  }

  function residue(word) {
    var digits = ibanDigits(word.toUpperCase()), shift = 1;
    for (var i = 0; i < digits.length; i++) shift = (shift * 10) % 97;
    return [mod97(digits, 0), shift];
  }

  // How many leading words form a valid IBAN, longest first, or 0 (as the server's).
  function groupedIbanWordCount(words) {
    var head = words[0], check = parseInt(head.slice(2), 10);
    if (check < 2 || check > 98) return 0;
    var headResidue = residue(head), remainder = 0, length = head.length, best = 0;
    for (var count = 2; count <= words.length; count++) {
      var word = residue(words[count - 1]);
      remainder = (remainder * word[1] + word[0]) % 97;
      length += words[count - 1].length;
      if (length >= 15 && length < 35 && (remainder * headResidue[1] + headResidue[0]) % 97 === 1) best = count;
    }
    return best;
  }

  function ipv4Valid(text) {
    var octets = text.split(".");
    if (octets.length !== 4) return false;
    return octets.every(function (octet) {
      return /^[0-9]{1,3}$/.test(octet) && (octet === "0" || octet[0] !== "0") && Number(octet) <= 255;
    });
  }

  // ipaddress.IPv6Address's rules (no scope id: the runs searched have no "%").
  function ipv6Valid(text) {
    var parts = text.split(":");
    if (parts.length < 3) return false;
    if (parts[parts.length - 1].indexOf(".") >= 0) {
      if (!ipv4Valid(parts.pop())) return false;
      parts.push("0", "0");
    }
    if (parts.length > 9) return false;
    var skip = -1;
    for (var i = 1; i < parts.length - 1; i++) {
      if (!parts[i]) {
        if (skip >= 0) return false;
        skip = i;
      }
    }
    if (skip >= 0) {
      var high = skip, low = parts.length - skip - 1;
      if (!parts[0] && --high) return false;
      if (!parts[parts.length - 1] && --low) return false;
      if (8 - (high + low) < 1) return false;
      parts = parts.slice(0, high).concat(parts.slice(parts.length - low));
    } else if (parts.length !== 8 || !parts[0] || !parts[parts.length - 1]) return false;
    return parts.every(function (hextet) { return /^[0-9A-Fa-f]{1,4}$/.test(hextet); });
  }

  function isIpv6(candidate) {
    return candidate.length <= 45 && candidate.replace(/^:+|:+$/g, "") !== "" && ipv6Valid(candidate);
  }

  function maskIpv6(text, sub) {
    return text.replace(IPV6_RUN, function (run) {
      if ((run.match(/:/g) || []).length < 2) return run;
      var begin = run.length - run.replace(/^\.+/, "").length, end = run.replace(/\.+$/, "").length;
      var colonBefore = run.startsWith(":", begin), colonAfter = end > begin && run[end - 1] === ":";
      var trims = [[0, 0], [0, 1], [1, 0], [1, 1]];
      for (var i = 0; i < trims.length; i++) {
        var before = trims[i][0], after = trims[i][1];
        if ((before && !colonBefore) || (after && !colonAfter)) continue;
        var inner = run.slice(begin + before, end - after);
        if (isIpv6(inner)) return run.slice(0, begin + before) + sub(inner) + run.slice(end - after);
      }
      return run;
    });
  }

  function maskIpv4(text, sub) {
    return text.replace(IPV4, function (found) {
      return found.split(/[.-]/).every(function (octet) { return Number(octet) <= 255; }) ? sub(found) : found;
    });
  }

  function cardGroups(groups) {
    var marked = groups.map(function () { return false; });
    groups.forEach(function (group, first) {
      if (group.length >= 13 && group.length <= 19 && luhnValid(group)) marked[first] = true;
      if (group.length < 3 || group.length > 6) return;
      var digits = group;
      for (var last = first + 1; last < groups.length; last++) {
        if (groups[last].length < 3 || groups[last].length > 6) break;
        digits += groups[last];
        if (digits.length > 19) break;
        if (digits.length >= 13 && luhnValid(digits)) {
          for (var i = first; i <= last; i++) marked[i] = true;
        }
      }
    });
    return marked;
  }

  function maskCards(text, sub) {
    return text.replace(DIGIT_RUN, function (run) {
      if (run.length < 13) return run;
      var spans = [], group, groupPattern = /[0-9]+/g;
      while ((group = groupPattern.exec(run))) spans.push([group.index, group.index + group[0].length]);
      var marked = cardGroups(spans.map(function (span) { return run.slice(span[0], span[1]); }));
      if (marked.indexOf(true) < 0) return run;
      var pieces = [], cursor = 0, spanStart = 0;
      spans.forEach(function (span, index) {
        if (!marked[index]) return;
        if (index === 0 || !marked[index - 1]) {
          pieces.push(run.slice(cursor, span[0]));
          spanStart = span[0];
        }
        cursor = span[1];
        if (index === spans.length - 1 || !marked[index + 1]) pieces.push(sub(run.slice(spanStart, cursor)));
      });
      pieces.push(run.slice(cursor));
      return pieces.join("");
    });
  }

  var DETECTORS = {
    jwt: [maskJwts],
    email: [maskEmails],
    uuid: [maskUuids],
    iban: [maskCompactIbans, maskGroupedIbans],
    ip: [maskIpv6, maskIpv4],
    card: [maskCards]
  };
  // Most specific first, as on the server.
  var ALL_STEPS = [maskJwts, maskEmails, maskUuids, maskCompactIbans, maskGroupedIbans, maskIpv6, maskIpv4, maskCards];
  var SECRET_STEPS = [maskJwts, maskCompactIbans, maskGroupedIbans, maskCards];

  function apply(steps, text, sub) {
    for (var i = 0; i < steps.length; i++) text = steps[i](text, sub || maskAll);
    return text;
  }

  function fullyDecoded(token) {
    for (var i = 0; i < 4; i++) {
      var decoded;
      try {
        decoded = unquote(token, "strict");
      } catch (error) {
        decoded = unquote(token, "latin1");
      }
      if (decoded === token) return normaliseText(decoded);
      token = decoded;
    }
    return null;
  }

  // Words whose percent escapes hide something are replaced by their decoded, masked form.
  function unhideEscaped(text, steps, sub) {
    if (text.indexOf("%") < 0) return text;
    var pieces = text.split(/(\s+)/);
    for (var i = 0; i < pieces.length; i += 2) {
      if (!/%[0-9A-Fa-f]{2}/.test(pieces[i])) continue;
      var decoded = fullyDecoded(pieces[i]);
      if (decoded === null) {
        pieces[i] = MASK;
        continue;
      }
      var masked = untilStable(function (value) { return apply(steps, value, sub); }, decoded);
      if (masked !== decoded) pieces[i] = masked;
    }
    return pieces.join("");
  }

  function detect(text, steps, sub) {
    var candidate = normaliseText(text);
    var masked = untilStable(function (value) {
      return apply(steps, unhideEscaped(value, steps, sub), sub);
    }, candidate);
    return masked === candidate ? text : masked;
  }

  // mask_text: personal data and secrets in free text; with personal off, secrets only.
  function maskText(text, personal) {
    var candidate = normaliseText(text);
    if (!(personal ? /[0-9@:-]|eyJ/ : /[0-9]|eyJ/).test(candidate)) return text;
    return detect(text, personal ? ALL_STEPS : SECRET_STEPS);
  }

  // --- credential names (privacy/credentials.py; a Python test compares the lists) -------
  var CREDENTIAL_PARTS = ["password", "passwd", "passphrase", "passcode", "pwd", "secret", "token",
    "apikey", "accesskey", "privatekey", "signingkey", "credential", "cookie", "session", "sessid",
    "authoriz", "authent", "bearer", "jwt", "signature", "csrf", "xsrf", "cvv", "cvc"];
  var CREDENTIAL_WHOLE_NAMES = ["pass", "pin", "otp", "totp"];

  function isCredentialName(name) {
    var folded = normaliseText(name).toLowerCase().replace(/ß/g, "ss");
    folded = folded.replace(ASCII.test(folded) ? /[^a-z0-9]+/g : unicode("noise", "[^\\p{L}\\p{N}]+", "gu"), "");
    return CREDENTIAL_WHOLE_NAMES.indexOf(folded) >= 0 || /auth(?!or(?!i[sz]))/.test(folded) ||
      CREDENTIAL_PARTS.some(function (part) { return folded.indexOf(part) >= 0; });
  }

  // --- URLs (privacy/uri.py) --------------------------------------------------------------
  function mixesClasses(piece) {
    var digits = (piece.match(/[0-9]/g) || []).length;
    if (digits > 0 && digits < piece.length) return true;
    if (digits) return false;
    var quarter = Math.floor(piece.length / 4), upper = (piece.slice(1).match(/[A-Z]/g) || []).length;
    return upper >= quarter && piece.length - 1 - upper >= quarter;
  }

  function looksLikeToken(text) {
    if (text.length < 20) return false;
    return (text.match(/[A-Za-z0-9_-]{20,}/g) || []).some(function (run) {
      return (run.match(/[A-Za-z0-9]{8,}/g) || []).some(mixesClasses);
    });
  }

  function ipLiteral(host) {
    var text = unquoteReplace(host);
    return ipv4Valid(text) || ipv6Valid(text.split("%")[0]) && !/%.*%|%$/.test(text);
  }

  // urlsplit's refusals that matter here: unbalanced brackets, or a bracketed host that
  // is not an IPv6 address (or IPvFuture).
  function netlocInvalid(netloc) {
    var open = netloc.indexOf("[") >= 0, close = netloc.indexOf("]") >= 0;
    if (open !== close) return true;
    if (!open) return false;
    var host = netloc.split("[")[1].split("]")[0];
    if (host[0] === "v") return !/^v[a-fA-F0-9]+\..+$/.test(host);
    var address = host.split("%");
    return address.length > 2 || address[1] === "" || !ipv6Valid(address[0]);
  }

  // urlsplit refuses a non-ASCII host that NFKC turns into URL delimiters.
  function nfkcUnsafe(netloc) {
    if (ASCII.test(netloc)) return false;
    var plain = netloc.replace(/[@:#?]/g, "");
    return plain !== plain.normalize("NFKC") && /[/?#@:]/.test(plain.normalize("NFKC"));
  }

  function maskUri(url, personal) {
    var detectText = function (text) { return maskText(text, personal); };
    var secrets = function (text) { return maskText(text, false); };
    var rules = { personal: personal, detect: detectText, secrets: secrets };
    url = url.replace(/^[\x00-\x20]+/, "").replace(/[\t\r\n]/g, "");
    var rest = url, scheme = "", colon = url.indexOf(":");
    if (colon > 0 && /^[A-Za-z][A-Za-z0-9+.-]*$/.test(url.slice(0, colon))) {
      scheme = url.slice(0, colon);
      rest = url.slice(colon + 1);
    }
    var pieces = scheme ? [scheme + ":"] : [];
    if (rest.slice(0, 2) === "//") {
      var end = rest.slice(2).search(/[/?#]/);
      var netloc = end < 0 ? rest.slice(2) : rest.slice(2, end + 2);
      if (netlocInvalid(netloc) || nfkcUnsafe(netloc)) return detectText(url);
      pieces.push("//" + maskNetloc(netloc, rules));
      rest = rest.slice(2 + netloc.length);
    }
    var hash = rest.indexOf("#"), fragment = null;
    if (hash >= 0) {
      fragment = rest.slice(hash + 1);
      rest = rest.slice(0, hash);
    }
    var question = rest.indexOf("?"), query = null;
    if (question >= 0) {
      query = rest.slice(question + 1);
      rest = rest.slice(0, question);
    }
    pieces.push(maskPath(rest, rules));
    if (query !== null) pieces.push("?" + maskQuery(query, rules));
    if (fragment !== null) pieces.push("#" + maskFragment(fragment, rules));
    return pieces.join("");
  }

  function maskNetloc(netloc, rules) {
    var hostport = netloc.slice(netloc.lastIndexOf("@") + 1); // credentials never leave here
    if (hostport[0] === "[") {
      var close = hostport.indexOf("]");
      var literal = close < 0 ? hostport : hostport.slice(0, close);
      var port = close < 0 ? "" : hostport.slice(close + 1);
      return (rules.personal ? MASK : literal + "]") + rules.detect(port);
    }
    var colon = hostport.indexOf(":");
    var host = colon < 0 ? hostport : hostport.slice(0, colon);
    var rest = colon < 0 ? "" : hostport.slice(colon + 1);
    if (rules.personal && ipLiteral(host)) host = MASK;
    return host + (colon < 0 ? "" : ":") + rules.detect(rest);
  }

  function maskPath(path, rules) {
    return path.split("/").map(function (segment) { return maskPathSegment(segment, rules); }).join("/");
  }

  function maskPathSegment(segment, rules) {
    var parts = segment.split(";");
    var masked = untilStable(function (text) {
      return maskComponent(text, unquoteReplace, rules.personal, rules.detect);
    }, parts[0]);
    if (parts.length === 1) return masked;
    return [masked].concat(parts.slice(1).map(function (parameter) {
      return maskParameter(parameter, unquoteReplace, rules);
    })).join(";");
  }

  function maskQuery(query, rules) {
    return query.split("&").map(function (field) { return maskParameter(field, unquotePlus, rules); }).join("&");
  }

  function maskFragment(fragment, rules) {
    var question = fragment.indexOf("?");
    var route = question < 0 ? fragment : fragment.slice(0, question);
    if (route.indexOf("=") >= 0) return maskQuery(fragment, rules);
    var masked = maskPath(route, rules);
    return question < 0 ? masked : masked + "?" + maskQuery(fragment.slice(question + 1), rules);
  }

  function maskParameter(field, decode, rules) {
    var equals = field.indexOf("=");
    var key = equals < 0 ? field : field.slice(0, equals), value = equals < 0 ? "" : field.slice(equals + 1);
    key = untilStable(function (text) {
      return maskComponent(text, decode, rules.personal && equals < 0, rules.detect);
    }, key);
    if (equals < 0) return key;
    if (value && (rules.personal || isCredentialName(decode(key)))) return key + "=" + MASK;
    return key + "=" + untilStable(function (text) {
      return maskComponent(text, decode, false, rules.secrets);
    }, value);
  }

  function maskComponent(text, decode, digitRuns, detectText) {
    var masked = detectText(text);
    if (digitRuns) {
      masked = masked.replace(/%[0-9A-Fa-f]{2}|[0-9]{5,}/g, function (found) {
        return found[0] === "%" ? found : MASK;
      });
    }
    var decoded = decode(masked);
    if (looksLikeToken(decoded)) return MASK;
    if (decoded !== masked && (detectText(decoded) !== decoded || (digitRuns && /[0-9]{5,}/.test(decoded)))) {
      return MASK;
    }
    return masked;
  }

  // --- masking rules (the shape of rumvault's /api/v1/privacy/rules/) ----------------------
  // A rule: {selector, detector | pattern, method, replacement, order}. Selectors are field
  // paths ("actions.url") or globs ("actions.*"). A group named "mask" in a pattern: only
  // that group is replaced. Methods: mask, replace, partial; remove drops the whole field;
  // hash is left to the server (a hash made here would need a key the browser cannot keep).
  // A rule the browser cannot apply (a detector it lacks, a pattern JavaScript cannot
  // compile) applies its method to the whole field instead: it fails closed.
  function globRegExp(glob) {
    return new RegExp("^" + glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$");
  }

  // RE2 syntax to JavaScript: named groups, leading flag groups; anything else that
  // JavaScript reads differently fails to compile and the rule fails closed.
  function compilePattern(pattern) {
    var flags = "gd", leading = /^\(\?([ims]+)\)/.exec(pattern);
    if (leading) {
      flags += leading[1].replace(/[^ims]/g, "");
      pattern = pattern.slice(leading[0].length);
    }
    pattern = pattern.replace(/\(\?P</g, "(?<").replace(/\\A/g, "^").replace(/\\z/g, "$(?![\\s\\S])");
    if (/\\Q|\\C|\(\?[a-zA-Z-]+[:)]/.test(pattern)) return null;
    try {
      return new RegExp(pattern, flags + "u");
    } catch (error) {
      try { return new RegExp(pattern, flags); } catch (error2) { return null; }
    }
  }

  // privacy.rules.partial_form: an email keeps its domain, more than four digits keep
  // the last four (letters and digits before them dotted out), anything else is masked.
  function partialForm(text) {
    var at = text.lastIndexOf("@"), domain = text.slice(at + 1);
    if (at > 0 && domain && domain.indexOf(".") >= 0) return MASK + "@" + domain;
    var digits = [];
    for (var i = 0; i < text.length; i++) if (/[0-9]/.test(text[i])) digits.push(i);
    if (digits.length <= 4) return MASK;
    var keptFrom = digits[digits.length - 4];
    return text.replace(/[A-Za-z0-9]/g, function (char, index) {
      return index < keptFrom ? "\u2022" : char;
    });
  }

  function compileRules(rules) {
    return (rules || []).slice().sort(function (a, b) { return (a.order || 0) - (b.order || 0); })
      .map(function (rule) {
        var compiled = { selector: globRegExp(String(rule.selector || "")), method: rule.method, replacement: String(rule.replacement || "") };
        if (rule.pattern) compiled.regexp = compilePattern(String(rule.pattern));
        else compiled.steps = DETECTORS[rule.detector] || null;
        compiled.whole = !(compiled.regexp || compiled.steps);
        return compiled;
      });
  }

  function substitute(rule) {
    return function (found) {
      if (rule.method === "replace") return rule.replacement;
      if (rule.method === "partial") return partialForm(found);
      return MASK;
    };
  }

  function applyPattern(value, regexp, sub) {
    var out = "", last = 0, match;
    regexp.lastIndex = 0;
    while ((match = regexp.exec(value))) {
      if (match[0] === "") regexp.lastIndex++;
      // As the server (privacy.rules): a group named "mask" is the part rewritten,
      // otherwise the whole match; other groups only group.
      var named = match.indices.groups && match.indices.groups.mask;
      var spans = [named || match.indices[0]];
      for (var i = 0; i < spans.length; i++) {
        if (spans[i][0] < last || spans[i][0] === spans[i][1]) continue;
        out += value.slice(last, spans[i][0]) + sub(value.slice(spans[i][0], spans[i][1]));
        last = spans[i][1];
      }
    }
    return out + value.slice(last);
  }

  // The value after every rule selecting ``path``; null when a rule removes the field.
  function applyRules(rules, path, value) {
    for (var i = 0; i < rules.length && value !== null; i++) {
      var rule = rules[i];
      if (!rule.selector.test(path) || rule.method === "hash" || !value) continue;
      var sub = substitute(rule), changed;
      if (rule.whole) changed = sub(value);
      else if (rule.regexp) changed = applyPattern(value, rule.regexp, sub);
      else changed = detect(value, rule.steps, sub);
      if (rule.method === "remove" && changed !== value) value = null;
      else value = changed;
    }
    return value;
  }

  // --- capture ---------------------------------------------------------------------------
  var SESSION_IDLE_MS = 30 * 60 * 1000;
  var MAX_BATCH = 100; // actions per beacon
  var FLUSH_DELAY_MS = 10000; // after the first action waiting to be sent
  var MAX_OUTBOX = 20; // beacons kept for a retry while the server is away
  var MAX_BEACON_CHARS = 60000; // under the 64 KiB a browser lets leave with a page
  var RETRY_MAX_MS = 60000;
  var CLICKABLE = "a,button,summary,select,label,[role=button],[role=link],[role=menuitem],[role=tab]," +
    "[role=checkbox],input[type=submit],input[type=button],input[type=reset],input[type=checkbox]," +
    "input[type=radio],[data-rum-name]";
  var LABELLED_BY_TEXT = { A: 1, BUTTON: 1, SUMMARY: 1, LABEL: 1 };
  var STORE = "rumvault.";

  function clean(text, max) {
    return String(text || "").replace(/\s+/g, " ").trim().slice(0, max);
  }

  function randomId(crypto) {
    var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", id = "";
    while (id.length < 22) {
      var bytes = crypto.getRandomValues(new Uint8Array(32));
      for (var i = 0; i < bytes.length && id.length < 22; i++) if (bytes[i] < 248) id += alphabet[bytes[i] % 62];
    }
    return id;
  }

  function client(userAgent) {
    var browser = /Edg\/(\d+)/.exec(userAgent), name = "Edge";
    if (!browser) { browser = /Firefox\/(\d+)/.exec(userAgent); name = "Firefox"; }
    if (!browser) { browser = /Chrom(?:e|ium)\/(\d+)/.exec(userAgent); name = "Chrome"; }
    if (!browser) { browser = /Version\/(\d+).*Safari/.exec(userAgent); name = "Safari"; }
    var os = /Android (\d+)/.exec(userAgent), osName = "Android";
    if (!os) { os = /(?:iPhone|iPad).*? OS (\d+)/.exec(userAgent); osName = "iOS"; }
    var system = os ? osName + " " + os[1] : /Windows/.test(userAgent) ? "Windows" :
      /Mac OS X/.test(userAgent) ? "macOS" : /Linux/.test(userAgent) ? "Linux" : "";
    return {
      browser: browser ? name + " " + browser[1] : "",
      os: system,
      device: /Mobi|Android|iPhone|iPad/.test(userAgent) ? "mobile" : "desktop"
    };
  }

  // env: window, document, navigator, location, performance, crypto, storage (sessionStorage
  // or null), fetch, sendBeacon, XMLHttpRequest, setTimeout, clearTimeout, now, base, key.
  function createAgent(env) {
    var endpointUrl = null; // env.base is worked out on first use, not while the page loads
    function endpoint() {
      return endpointUrl || (endpointUrl = env.base + "/api/v1/rum/" + encodeURIComponent(env.key) + "/");
    }
    var config = null, rules = [], waiting = [], buffer = [], outbox = [], inflight = [];
    var collecting = false, stopped = false, refused = false, timer = null, retryTimer = null, retryDelay = 1000;
    var session = null, pendingTag = null, anonymous = false, pageView = null;
    var consent; // read on start: storage is a synchronous call the page's load need not wait for
    // The configuration is applied only once the page's load has ended (or when the page is
    // left before that): applying it masks everything that waited for it (each regular
    // expression compiled on its first use) and reads and writes sessionStorage, which would
    // otherwise delay the load event whenever the answer comes back first.
    var loaded = env.document.readyState === "complete", arrived = null;

    function read(name) {
      try { return env.storage ? JSON.parse(env.storage.getItem(STORE + name)) : null; } catch (error) { return null; }
    }

    function write(name, value) {
      try {
        if (!env.storage) return;
        if (value === null) env.storage.removeItem(STORE + name);
        else env.storage.setItem(STORE + name, JSON.stringify(value));
      } catch (error) { /* storage full or refused: the agent goes on without it */ }
    }

    function iso(ms) { return new Date(ms).toISOString(); }

    function personal() { return config.uri_masking !== false; }

    function url(value) {
      var ruled = applyRules(rules, "actions.url", String(value));
      return ruled === null ? "" : maskUri(ruled, personal());
    }

    function name(value) {
      var ruled = applyRules(rules, "actions.name", clean(value, 200));
      return ruled === null ? "" : maskUri(ruled, personal());
    }

    function text(path, value, max) {
      var ruled = applyRules(rules, path, clean(value, max));
      return ruled === null ? "" : maskText(ruled, personal());
    }

    function currentSession() {
      var now = env.now();
      if (!session) session = read("session");
      if (!session || now - session.last > SESSION_IDLE_MS) {
        session = { id: randomId(env.crypto), started: now, last: now, seq: 0 };
      }
      session.last = now;
      return session;
    }

    // Every capture goes through here: before the configuration arrives it waits (nothing
    // is masked, kept or sent yet); once collecting, it becomes an action with a seq.
    function capture(make) {
      if (stopped) return;
      if (!config) {
        waiting.push(make);
        return;
      }
      if (!collecting) return;
      var action = make();
      if (!action) return;
      var state = currentSession();
      action.seq = state.seq++;
      write("session", state);
      buffer.push(action);
      if (buffer.length >= MAX_BATCH) flush(false);
      else if (!timer) timer = env.setTimeout(function () { timer = null; flush(false); }, FLUSH_DELAY_MS);
      return action;
    }

    function recordPageView() {
      capture(function () {
        var nav = env.performance.getEntriesByType ? env.performance.getEntriesByType("navigation")[0] : null;
        var action = {
          type: "page_view",
          name: name("Loading of " + env.location.pathname),
          url: url(env.location.href),
          timestamp: iso(env.performance.timeOrigin || env.now())
        };
        if (nav && nav.loadEventEnd > 0) action.duration_ms = Math.round(nav.loadEventEnd - nav.startTime);
        else pageView = action; // completed on load
        return action;
      });
    }

    function onLoad() {
      env.setTimeout(function () { // after the load handlers, when loadEventEnd is set
        var nav = env.performance.getEntriesByType("navigation")[0];
        if (pageView && nav && nav.loadEventEnd > 0) pageView.duration_ms = Math.round(nav.loadEventEnd - nav.startTime);
        pageView = null;
        loaded = true;
        if (arrived) apply(arrived, true);
      }, 0);
    }

    function clickName(element) {
      var tag = element.tagName.toLowerCase();
      if (config.mask_user_actions) return "click on " + tag;
      // Never an input's value, a textarea's contents or a select's choice.
      var label = element.getAttribute("data-rum-name") || element.getAttribute("aria-label");
      if (!label && LABELLED_BY_TEXT[element.tagName]) label = element.textContent;
      if (!label && /^(button|link|menuitem|tab)$/.test(element.getAttribute("role") || "")) label = element.textContent;
      return clean(label, 100) || "click on " + tag;
    }

    // ``when``: the time a click, error or call was recorded at by the loader, which queued
    // it before the agent came (src/loader.js); now otherwise.
    function onClick(event, when) {
      var target = event.target && event.target.closest ? event.target.closest(CLICKABLE) : null;
      if (!target) return;
      var at = when || env.now();
      capture(function () {
        return { type: "click", name: name(clickName(target)), url: url(env.location.href), timestamp: iso(at) };
      });
    }

    function request(method, target, started, status, failed) {
      // Now, not when the action is built: that waits for the configuration.
      var ended = env.now();
      capture(function () {
        var absolute;
        try { absolute = new URL(String(target), env.location.href); } catch (error) { return null; }
        var action = {
          type: "xhr",
          name: name(String(method || "GET").toUpperCase() + " " + absolute.pathname),
          url: url(absolute.href),
          timestamp: iso(started),
          duration_ms: Math.max(0, Math.round(ended - started))
        };
        if (status >= 100 && status <= 599) action.http_status = status;
        if (failed) action.error = { message: "Network error" };
        return action;
      });
    }

    function onError(event, when) {
      if (event.target && event.target !== env.window) return; // a resource that failed to load
      var error = event.error, message = error && error.message ? error.message : event.message;
      captureError("Uncaught " + (error && error.name ? error.name : "Error"), message, when);
    }

    function onRejection(event, when) {
      var reason = event.reason;
      captureError("Unhandled rejection", reason && reason.message ? reason.message : String(reason), when);
    }

    function captureError(title, message, when) {
      var at = when || env.now();
      capture(function () {
        return { type: "error", name: name(title), url: url(env.location.href), timestamp: iso(at),
          error: { message: text("actions.error_message", message, 1000) } };
      });
    }

    function batch(actions) {
      var state = currentSession(), info = client(env.navigator.userAgent || "");
      var beacon = { session_id: state.id, started_at: iso(state.started), ended_at: iso(env.now()), actions: actions };
      ["browser", "os", "device"].forEach(function (field) {
        var value = applyRules(rules, field, info[field]);
        if (value) beacon[field] = maskText(value, personal());
      });
      if (anonymous) beacon.do_not_track = true;
      else if (pendingTag) beacon.user_tag = pendingTag;
      pendingTag = null;
      return JSON.stringify({ sessions: [beacon] });
    }

    // Sends what is waiting. ``leaving``: the page is going away, so every action goes now,
    // with fetch(keepalive) or sendBeacon, and no answer can be waited for.
    function flush(leaving) {
      if (timer) { env.clearTimeout(timer); timer = null; }
      if (!collecting) return;
      var ready = buffer.filter(function (action) { return leaving || action !== pageView; });
      buffer = buffer.filter(function (action) { return ready.indexOf(action) < 0; });
      // Leaving: what waits for a retry, and what is still on its way (a request the
      // browser cancels with the page), go again with keepalive; twice is harmless.
      var earlier = leaving ? outbox.splice(0).concat(inflight.splice(0)) : [];
      while (ready.length || pendingTag) {
        var beacon = batch(ready.splice(0, MAX_BATCH));
        if (leaving) sendNow(beacon);
        else send(beacon);
      }
      if (leaving) {
        earlier.forEach(sendNow);
        write("outbox", outbox.length ? outbox : null);
      } else if (buffer.length && !timer) {
        timer = env.setTimeout(function () { timer = null; flush(false); }, FLUSH_DELAY_MS);
      }
    }

    function post(body, keepalive) {
      return env.fetch(endpoint() + "beacons/", {
        method: "POST", body: body, keepalive: keepalive, credentials: "omit",
        referrerPolicy: "strict-origin", headers: { "Content-Type": "text/plain" }
      });
    }

    function sendNow(body) {
      var sent = false;
      if (body.length < MAX_BEACON_CHARS) {
        try { post(body, true).catch(function () {}); sent = true; } catch (error) { sent = false; }
      }
      if (!sent && env.sendBeacon) sent = env.sendBeacon(endpoint() + "beacons/", body);
      if (!sent) keep(body); // tried again by this tab's next page
    }

    // Without keepalive: the browser's keepalive budget (64 KiB in flight) is kept for
    // the beacons of a page being left.
    function send(body) {
      inflight.push(body);
      var done = function () { var at = inflight.indexOf(body); if (at >= 0) inflight.splice(at, 1); };
      post(body, false).then(function (response) {
        done();
        // Retried: the server away or busy. Not retried: a refusal it will repeat; and
        // a key or origin refused (403, 404) stops the agent on this page.
        if (response.status === 429 || response.status >= 500) retry(body, response.headers.get("Retry-After"));
        else if (response.status === 403 || response.status === 404) api._refuse();
        else retryDelay = 1000;
      }, function () { done(); retry(body, null); });
    }

    function keep(body) {
      outbox.push(body);
      if (outbox.length > MAX_OUTBOX) outbox.shift();
      write("outbox", outbox);
    }

    function retry(body, retryAfter) {
      if (!collecting) return;
      keep(body);
      var wait = Math.max(retryDelay, (parseInt(retryAfter, 10) || 0) * 1000);
      retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
      if (!retryTimer) retryTimer = env.setTimeout(drainOutbox, Math.min(wait, RETRY_MAX_MS));
    }

    function drainOutbox() {
      retryTimer = null;
      var bodies = outbox.splice(0);
      write("outbox", null);
      bodies.forEach(send);
    }

    function start() {
      if (consent === undefined) consent = read("consent");
      var requested = env.navigator.doNotTrack === "1" || env.window.doNotTrack === "1" ||
        env.navigator.globalPrivacyControl === true;
      var queued = waiting;
      waiting = [];
      if (requested && config.do_not_track === "disable") return stop(true);
      if (consent === "denied" || (config.opt_in && consent !== "granted")) return;
      anonymous = requested && config.do_not_track === "anonymous";
      collecting = true;
      outbox = read("outbox") || [];
      queued.forEach(capture);
      if (outbox.length) drainOutbox();
    }

    function stop(discard) {
      stopped = discard;
      collecting = false;
      waiting = [];
      buffer = [];
      outbox = [];
      inflight = [];
      pendingTag = null;
      if (timer) env.clearTimeout(timer);
      if (retryTimer) env.clearTimeout(retryTimer);
      timer = retryTimer = null;
      if (discard) {
        session = null;
        write("session", null);
        write("outbox", null);
        write("config", null);
      }
    }

    function configure(received) {
      if (loaded) apply(received, true);
      else arrived = received;
    }

    // ``fresh``: this page's own answer, kept for the tab's next pages while collecting (a
    // configuration is no secret and nothing about the visitor). A page left before its
    // answer came uses the kept one; a fresh answer arriving after that replaces it.
    function apply(received, fresh) {
      var first = !config;
      arrived = null;
      config = received;
      rules = compileRules(received.rules);
      if (first) start();
      if (fresh && collecting) write("config", { at: env.now(), config: received });
    }

    // The page is going away: a configuration still held back for the load is applied now,
    // and without an answer yet the tab's last one (30 minutes at most), so that what the
    // page recorded is not lost with it.
    function leave() {
      if (arrived) apply(arrived, true);
      else if (!config && !stopped) {
        var kept = read("config");
        if (kept && kept.config && env.now() - kept.at < SESSION_IDLE_MS) apply(kept.config, false);
      }
      flush(true);
    }

    var api = {
      version: VERSION,
      // Start collecting (opt-in mode: after the visitor agreed); remembered for this tab.
      enable: function () {
        if (refused) return;
        consent = "granted";
        write("consent", consent);
        stopped = false;
        if (config && !collecting) {
          start();
          if (collecting) recordPageView();
        }
      },
      // Stop, and throw away everything not sent yet; remembered for this tab.
      disable: function () {
        consent = "denied";
        stop(true);
        write("consent", consent);
      },
      identifyUser: function (tag) {
        tag = clean(tag, 250);
        if (!tag || stopped) return;
        capture(function () {
          if (!anonymous) pendingTag = tag;
          return null;
        });
        if (collecting) flush(false);
      },
      product: function (product, when) {
        if (!product || ["view", "add_to_cart", "purchase"].indexOf(product.event) < 0) return;
        var at = when || env.now();
        capture(function () {
          var item = { event: product.event };
          if (product.sku) item.sku = text("actions.product.sku", product.sku, 100);
          if (product.name) item.name = text("actions.product.name", product.name, 200);
          var price = Number(product.price);
          if (product.price !== undefined && isFinite(price) && price >= 0) item.price = price.toFixed(2);
          if (/^[A-Z]{3}$/.test(product.currency || "")) item.currency = product.currency;
          if (product.quantity >= 1) item.quantity = Math.floor(product.quantity);
          return { type: "custom", name: name("Product " + product.event.replace(/_/g, " ")),
            url: url(env.location.href), timestamp: iso(at), product: item };
        });
      },
      flush: function () { flush(false); },
      // The server refused the key or the origin: nothing will ever be collected here.
      _refuse: function () {
        refused = stopped = true;
        stop(true);
      },
      // Internals for the node tests.
      _state: function () { return { config: config, collecting: collecting, buffer: buffer, outbox: outbox, session: session }; },
      _configure: configure,
      _onClick: onClick,
      _onError: onError,
      _onRejection: onRejection,
      _onLoad: onLoad,
      _replay: replay,
      _request: request,
      _leave: leave
    };

    // What the loader queued before the agent came, in the order it happened, after this
    // page's view: each [kind, argument, time] as src/loader.js records it.
    function replay(queued) {
      queued.forEach(function (entry) {
        var kind = entry[0], argument = entry[1], at = entry[2];
        if (kind === "click") onClick(argument, at);
        else if (kind === "error") onError(argument, at);
        else if (kind === "unhandledrejection") onRejection(argument, at);
        else if (kind === "product") api.product(argument, at);
        else if (kind === "identifyUser" || kind === "enable" || kind === "disable") api[kind](argument);
      });
    }

    // Never a listener for input, change, key or form events: typed text is never seen.
    env.document.addEventListener("click", onClick, true);
    env.window.addEventListener("error", onError, true);
    env.window.addEventListener("unhandledrejection", onRejection);
    env.window.addEventListener("pagehide", leave);
    env.document.addEventListener("visibilitychange", function () {
      if (env.document.visibilityState === "hidden") leave();
    });
    if (env.document.readyState === "complete") onLoad();
    else env.window.addEventListener("load", onLoad);
    instrumentRequests(env, endpoint, request);
    recordPageView();
    return api;
  }

  // fetch and XMLHttpRequest: method, URL, status and duration of the page's own requests
  // (the agent's go through the functions it saved first, so they are never captured).
  function instrumentRequests(env, endpoint, request) {
    var win = env.window;
    if (win.fetch) {
      var original = win.fetch;
      win.fetch = function (input, init) {
        var method = (init && init.method) || (input && input.method) || "GET";
        var target = input && input.url ? input.url : input;
        var started = env.now();
        return original.apply(this, arguments).then(function (response) {
          request(method, target, started, response.status, false);
          return response;
        }, function (error) {
          request(method, target, started, 0, true);
          throw error;
        });
      };
    }
    var xhr = win.XMLHttpRequest && win.XMLHttpRequest.prototype;
    if (xhr) {
      var open = xhr.open, sendRequest = xhr.send;
      xhr.open = function (method, target) {
        this._rumvault = { method: method, target: target };
        return open.apply(this, arguments);
      };
      xhr.send = function () {
        var info = this._rumvault, self = this;
        if (info && String(new URL(String(info.target), env.location.href)).indexOf(endpoint()) !== 0) {
          var started = env.now();
          this.addEventListener("loadend", function () {
            request(info.method, info.target, started, self.status, self.status === 0);
          });
        }
        return sendRequest.apply(this, arguments);
      };
    }
  }

  function loadConfig(env, agent, attempt) {
    var endpoint = env.base + "/api/v1/rum/" + encodeURIComponent(env.key) + "/config/";
    env.fetch(endpoint, { credentials: "omit", referrerPolicy: "no-referrer" }).then(function (response) {
      if (response.ok) return response.json().then(agent._configure);
      if (response.status === 429 || response.status >= 500) throw new Error("retry");
      if (env.window.console) env.window.console.warn("rumvault: beacon key or origin refused; nothing is collected");
      agent._refuse();
    }).catch(function () {
      if (attempt < 4) env.setTimeout(function () { loadConfig(env, agent, attempt + 1); }, 1000 * Math.pow(2, attempt));
    });
  }

  // A property read on first use and kept.
  function lazy(object, name, read) {
    Object.defineProperty(object, name, { configurable: true, enumerable: true, get: function () {
      var value = read();
      Object.defineProperty(object, name, { value: value, enumerable: true });
      return value;
    } });
  }

  function boot(win) {
    var script = win.document.currentScript;
    var key = script && script.getAttribute("data-key");
    // The loader's stand-in (src/loader.js) is taken over; any other window.rumvault means
    // the agent already runs on this page.
    var loader = win.rumvault && win.rumvault._take ? win.rumvault : null;
    if (!key || (win.rumvault && !loader)) return;
    var src = script.src;
    var fetch = win.fetch.bind(win); // before instrumentRequests wraps it
    var env = {
      window: win, document: win.document, fetch: fetch,
      setTimeout: win.setTimeout.bind(win), clearTimeout: win.clearTimeout.bind(win),
      now: function () { return Date.now(); }, key: key
    };
    // What the tag's own run does not need is read on first use, after the load on most
    // pages: the first touch of each of these objects makes it for the page's scripts,
    // which costs the load a little each, more in a new renderer process.
    lazy(env, "navigator", function () { return win.navigator; });
    lazy(env, "location", function () { return win.location; });
    lazy(env, "performance", function () { return win.performance; });
    lazy(env, "crypto", function () { return win.crypto; });
    lazy(env, "sendBeacon", function () {
      return win.navigator.sendBeacon && win.navigator.sendBeacon.bind(win.navigator);
    });
    lazy(env, "base", function () { return new URL(src, win.location.href).origin; });
    Object.defineProperty(env, "storage", { get: function () { // first touched after load
      try { return win.sessionStorage; } catch (error) { return null; }
    } });
    var agent = createAgent(env);
    win.rumvault = {
      version: VERSION, enable: function () { agent.enable(); }, disable: function () { agent.disable(); },
      identifyUser: agent.identifyUser, product: function (product) { agent.product(product); },
      flush: agent.flush
    };
    if (loader) agent._replay(loader._take());
    // Asked for in a task of its own rather than while the page's deferred scripts run:
    // starting a fetch costs the main thread milliseconds, and the server's answer is only
    // applied once the load has ended anyway (a page with nothing left to load fires its
    // load event before this task runs). What happens before waits for it in memory.
    env.setTimeout(function () { loadConfig(env, agent, 0); }, 0);
  }

  return {
    VERSION: VERSION, MASK: MASK, maskText: maskText, maskUri: maskUri, normaliseText: normaliseText,
    isCredentialName: isCredentialName, compileRules: compileRules, applyRules: applyRules,
    client: client, createAgent: createAgent, boot: boot,
    CREDENTIAL_PARTS: CREDENTIAL_PARTS, CREDENTIAL_WHOLE_NAMES: CREDENTIAL_WHOLE_NAMES
  };
});
