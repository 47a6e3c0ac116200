package dev.visiontower.models.clip;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HTML character references as Python's {@code html.unescape} resolves them: numeric ({@code &#233;},
 * {@code &#xE9;}) and the named entities that occur in captions.
 */
final class HtmlEntities {
    private HtmlEntities() {
    }

    private static final Pattern REF = Pattern.compile("&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*;?)");
    private static final Map<String, String> NAMED = Map.ofEntries(
            Map.entry("amp", "&"), Map.entry("lt", "<"), Map.entry("gt", ">"), Map.entry("quot", "\""),
            Map.entry("apos", "'"), Map.entry("nbsp", "\u00a0"), Map.entry("copy", "\u00a9"),
            Map.entry("reg", "\u00ae"), Map.entry("trade", "\u2122"), Map.entry("hellip", "\u2026"),
            Map.entry("mdash", "\u2014"), Map.entry("ndash", "\u2013"), Map.entry("lsquo", "\u2018"),
            Map.entry("rsquo", "\u2019"), Map.entry("ldquo", "\u201c"), Map.entry("rdquo", "\u201d"),
            Map.entry("eacute", "\u00e9"), Map.entry("egrave", "\u00e8"), Map.entry("agrave", "\u00e0"),
            Map.entry("aacute", "\u00e1"), Map.entry("ouml", "\u00f6"), Map.entry("uuml", "\u00fc"),
            Map.entry("auml", "\u00e4"), Map.entry("szlig", "\u00df"), Map.entry("ntilde", "\u00f1"),
            Map.entry("ccedil", "\u00e7"), Map.entry("deg", "\u00b0"), Map.entry("times", "\u00d7"),
            Map.entry("euro", "\u20ac"), Map.entry("pound", "\u00a3"), Map.entry("yen", "\u00a5"),
            Map.entry("cent", "\u00a2"), Map.entry("sect", "\u00a7"), Map.entry("middot", "\u00b7"),
            Map.entry("laquo", "\u00ab"), Map.entry("raquo", "\u00bb"), Map.entry("bull", "\u2022"));
    /** Names Python also accepts without the trailing semicolon (the HTML 4 legacy set, those above). */
    private static final java.util.Set<String> LEGACY = java.util.Set.of("amp", "lt", "gt", "quot", "nbsp", "copy",
            "reg", "eacute", "egrave", "agrave", "aacute", "ouml", "uuml", "auml", "szlig", "ntilde", "ccedil", "deg",
            "times", "pound", "yen", "cent", "sect", "middot", "laquo", "raquo");

    static String unescape(String s) {
        if (s.indexOf('&') < 0) {
            return s;
        }
        Matcher m = REF.matcher(s);
        StringBuilder out = new StringBuilder();
        int last = 0;
        while (m.find()) {
            String body = m.group(1);
            String rep = resolve(body);
            if (rep == null) {
                continue;
            }
            out.append(s, last, m.start()).append(rep);
            last = m.end();
        }
        return out.append(s, last, s.length()).toString();
    }

    private static String resolve(String body) {
        boolean semi = body.endsWith(";");
        String b = semi ? body.substring(0, body.length() - 1) : body;
        if (b.startsWith("#")) {
            try {
                int cp = b.length() > 1 && (b.charAt(1) == 'x' || b.charAt(1) == 'X')
                        ? Integer.parseInt(b.substring(2), 16) : Integer.parseInt(b.substring(1));
                if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
                    return "\ufffd";
                }
                return new String(Character.toChars(cp));
            } catch (NumberFormatException e) {
                return null;
            }
        }
        String v = NAMED.get(b);
        if (v == null || (!semi && !LEGACY.contains(b))) {
            return null;
        }
        return v;
    }
}
