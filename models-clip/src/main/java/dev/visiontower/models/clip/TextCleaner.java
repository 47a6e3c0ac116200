package dev.visiontower.models.clip;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The text cleaning open_clip applies before tokenising: the parts of ftfy's {@code fix_text} that change real
 * captions (HTML entities, mojibake from UTF-8 read as Windows-1252, Latin ligatures, full-width characters, curly
 * quotes, line breaks, control characters, NFC), then {@code html.unescape} twice, whitespace collapsed, lower case.
 */
final class TextCleaner {
    private TextCleaner() {
    }

    private static final Pattern WHITESPACE = Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern TERMINAL_ESCAPE = Pattern.compile("\u001b\\[((?:\\d|;)*)([a-zA-Z])");
    /** A UTF-8 lead byte followed by continuation bytes, all seen through Windows-1252. */
    private static final Pattern MOJIBAKE = Pattern.compile(
            "[\u00c2-\u00f4][\u0080-\u00bf\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152"
                    + "\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e\u0178]+");
    private static final Map<Character, String> LIGATURES = Map.of('\ufb00', "ff", '\ufb01', "fi", '\ufb02', "fl",
            '\ufb03', "ffi", '\ufb04', "ffl", '\ufb05', "\u017ft", '\ufb06', "st", '\u0132', "IJ", '\u0133', "ij");

    /** open_clip's {@code _clean_lower}. */
    static String clean(String text) {
        String t = fixText(text);
        t = HtmlEntities.unescape(HtmlEntities.unescape(t));
        t = t.strip();
        t = WHITESPACE.matcher(t).replaceAll(" ").strip();
        return t.toLowerCase(java.util.Locale.ROOT);
    }

    static String fixText(String text) {
        String t = text;
        if (t.indexOf('<') < 0) {
            t = HtmlEntities.unescape(t); // ftfy's unescape_html='auto': only text that is not HTML markup
        }
        t = TERMINAL_ESCAPE.matcher(t).replaceAll("");
        t = fixMojibake(t);
        StringBuilder sb = new StringBuilder(t.length());
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            String lig = LIGATURES.get(c);
            if (lig != null) {
                sb.append(lig);
            } else if (c >= '\uff01' && c <= '\uff5e') {
                sb.append((char) (c - 0xfee0)); // full-width ASCII
            } else if (c == '\u3000') {
                sb.append(' ');
            } else if (c == '\u2018' || c == '\u2019' || c == '\u201a' || c == '\u201b') {
                sb.append('\'');
            } else if (c == '\u201c' || c == '\u201d' || c == '\u201e' || c == '\u201f') {
                sb.append('"');
            } else if (c == '\r') {
                sb.append('\n');
                if (i + 1 < t.length() && t.charAt(i + 1) == '\n') {
                    i++;
                }
            } else if (c == '\u2028' || c == '\u2029' || c == '\u0085') {
                sb.append('\n');
            } else if (isRemovedControl(c)) {
                continue;
            } else {
                sb.append(c);
            }
        }
        return Normalizer.normalize(sb, Normalizer.Form.NFC);
    }

    private static boolean isRemovedControl(char c) {
        return (c <= 0x08) || c == 0x0b || (c >= 0x0e && c <= 0x1f) || c == 0x7f || (c >= 0x206a && c <= 0x206f)
                || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffc);
    }

    /** Re-decodes runs that are UTF-8 bytes mistakenly decoded as Windows-1252 (e.g. "cafÃ©" -> "café"). */
    static String fixMojibake(String t) {
        Matcher m = MOJIBAKE.matcher(t);
        StringBuilder out = new StringBuilder();
        int last = 0;
        while (m.find()) {
            String fixed = redecode(m.group());
            out.append(t, last, m.start()).append(fixed != null ? fixed : m.group());
            last = m.end();
        }
        return out.append(t, last, t.length()).toString();
    }

    private static String redecode(String s) {
        byte[] bytes = new byte[s.length()];
        for (int i = 0; i < s.length(); i++) {
            int b = Cp1252.encode(s.charAt(i));
            if (b < 0) {
                return null;
            }
            bytes[i] = (byte) b;
        }
        try {
            CharBuffer cb = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
            return cb.toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** Windows-1252 with ftfy's "sloppy" rule: the five undefined bytes map to the C1 control of the same value. */
    static final class Cp1252 {
        private static final String HIGH = "\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039"
                + "\u0152\u008d\u017d\u008f\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a"
                + "\u0153\u009d\u017e\u0178";

        private Cp1252() {
        }

        static int encode(char c) {
            if (c < 0x80 || (c >= 0xa0 && c <= 0xff)) {
                return c;
            }
            int i = HIGH.indexOf(c);
            return i < 0 ? -1 : 0x80 + i;
        }
    }
}
