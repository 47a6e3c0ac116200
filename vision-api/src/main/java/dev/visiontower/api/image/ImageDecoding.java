package dev.visiontower.api.image;

import dev.visiontower.api.InvalidInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Decodes image files to 8-bit RGB as Hugging Face's {@code load_image} does: PIL opens the file, applies its EXIF
 * orientation ({@code ImageOps.exif_transpose}) and converts with {@code convert("RGB")}. Formats: JPEG (baseline,
 * progressive, grey, CMYK, YCCK), PNG (every colour type and depth), WebP (lossy, lossless), GIF (first frame), BMP and
 * TIFF, through {@code javax.imageio} and the TwelveMonkeys ImageIO plugins. As in PIL: grey is replicated, alpha is
 * dropped (not composited), palettes are expanded, 16-bit grey is clipped at 255 and other 16-bit samples keep their
 * high byte, CMYK is combined with PIL's formula, and no colour profile is applied.
 *
 * <p>Checked before or while decoding, each a one-line {@link InvalidInputException} naming the file: the declared
 * size against a pixel limit (before any pixel is allocated), a PNG's chunk CRCs and its end, a JPEG cut short, a file
 * in no supported format.
 *
 * <p>This class needs the {@code java.desktop} module, which {@code dev.visiontower.api} only requires statically so
 * that headless runtimes without it can still use everything else; {@link #isAvailable()} tells whether it is present.
 */
public final class ImageDecoding {
    /**
     * The most pixels an image may declare, checked from its header before anything is decoded: PIL's limit
     * ({@code Image.MAX_IMAGE_PIXELS} 89,478,485, refused at twice that); property
     * {@code visiontower.image.maxPixels} changes it.
     */
    public static final long DEFAULT_MAX_PIXELS = 2L * 89_478_485L;
    /** System property overriding {@link #DEFAULT_MAX_PIXELS}. */
    public static final String MAX_PIXELS_PROPERTY = "visiontower.image.maxPixels";

    private ImageDecoding() {
    }

    /** The pixel limit in force. */
    public static long maxPixels() {
        String v = System.getProperty(MAX_PIXELS_PROPERTY);
        if (v == null) {
            return DEFAULT_MAX_PIXELS;
        }
        try {
            long n = Long.parseLong(v.trim());
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // fall through to the error
        }
        throw new InvalidInputException("-D" + MAX_PIXELS_PROPERTY + "=" + v + " must be a positive number of pixels");
    }

    /** Whether {@code java.desktop} (ImageIO) is in the runtime. */
    public static boolean isAvailable() {
        return ModuleLayer.boot().findModule("java.desktop").isPresent()
                || !ImageDecoding.class.getModule().isNamed();
    }

    /** Reads an image as Hugging Face's {@code load_image} does (EXIF orientation applied). */
    public static RgbImage read(Path file) {
        return read(file, ImageLoadOptions.HUGGING_FACE);
    }

    /** Reads an image; {@code options} say whether the EXIF orientation is applied. */
    public static RgbImage read(Path file, ImageLoadOptions options) {
        if (!isAvailable()) {
            throw new InvalidInputException(file + ": cannot decode images: the java.desktop module is not in this "
                    + "runtime (add it with --add-modules java.desktop)");
        }
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new InvalidInputException(file + ": not a regular file (a directory, device or pipe is not an image)");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new InvalidInputException(file + ": no such file");
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot read: " + e.getMessage(), e);
        }
        return decode(bytes, file.toString(), options);
    }

    /**
     * Decodes an image held in memory (an upload, a database blob); {@code name} is used in error messages.
     */
    public static RgbImage decode(byte[] bytes, String name, ImageLoadOptions options) {
        if (!isAvailable()) {
            throw new InvalidInputException(name + ": cannot decode images: the java.desktop module is not in this "
                    + "runtime (add it with --add-modules java.desktop)");
        }
        if (bytes.length == 0) {
            throw new InvalidInputException(name + ": empty file, not an image");
        }
        try {
            return DesktopDecoder.decode(bytes, name, maxPixels(), options);
        } catch (InvalidInputException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new InvalidInputException(name + ": cannot decode image: " + oneLine(e), e);
        } catch (LinkageError e) {
            throw new InvalidInputException(name + ": cannot decode images: a decoder library is missing ("
                    + e.getMessage() + "); the TwelveMonkeys ImageIO jars must be on the module or class path", e);
        }
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        return m.replaceAll("\\s*\\R\\s*", " ").strip();
    }
}
