package dev.visiontower.api.image;

import dev.visiontower.api.InvalidInputException;

import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Decodes PNG and JPEG files to 8-bit RGB with {@code javax.imageio}, converting like PIL's {@code convert("RGB")}:
 * grey is replicated, alpha is dropped (not composited), palettes are expanded. No colour management and no EXIF
 * rotation (the reference pipelines apply neither).
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

    public static RgbImage read(Path file) {
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
        try (InputStream in = new java.io.ByteArrayInputStream(bytes)) {
            return Decoder.decode(in, file.toString(), maxPixels());
        } catch (IOException | RuntimeException e) {
            if (e instanceof InvalidInputException) {
                throw (InvalidInputException) e;
            }
            throw new InvalidInputException(file + ": cannot decode image: " + e.getMessage(), e);
        }
    }

    /** Kept in its own class so that nothing from java.desktop is linked unless an image is decoded. */
    private static final class Decoder {
        static RgbImage decode(InputStream in, String name, long maxPixels) throws IOException {
            BufferedImage img;
            try (javax.imageio.stream.ImageInputStream iis = new javax.imageio.stream.MemoryCacheImageInputStream(in)) {
                java.util.Iterator<javax.imageio.ImageReader> readers = javax.imageio.ImageIO.getImageReaders(iis);
                if (!readers.hasNext()) {
                    throw new InvalidInputException(name + ": not a readable image (supported: PNG, JPEG, BMP, GIF)");
                }
                javax.imageio.ImageReader reader = readers.next();
                try {
                    reader.setInput(iis, true, true);
                    // the declared size, from the header, before a pixel is decoded
                    long w = reader.getWidth(0);
                    long h = reader.getHeight(0);
                    if (w <= 0 || h <= 0) {
                        throw new InvalidInputException(name + ": the image declares an empty size " + w + "x" + h);
                    }
                    if (w * h > maxPixels || w * h * 3 > Integer.MAX_VALUE - 16) {
                        throw new InvalidInputException(String.format(java.util.Locale.ROOT, "%s: the image declares "
                                + "%dx%d = %,d pixels, more than the limit of %,d (raise it with -D%s=N if the file "
                                + "is trusted)", name, w, h, w * h, Math.min(maxPixels, (Integer.MAX_VALUE - 16) / 3),
                                MAX_PIXELS_PROPERTY));
                    }
                    img = reader.read(0);
                } finally {
                    reader.dispose();
                }
            }
            int w = img.getWidth();
            int h = img.getHeight();
            byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
            Raster r = img.getRaster();
            int bands = r.getNumBands();
            boolean direct = img.getColorModel() instanceof ComponentColorModel
                    && r.getTransferType() == DataBuffer.TYPE_BYTE && bands >= 1 && bands <= 4;
            if (direct) {
                // raw samples: avoids the colour-space conversion getRGB applies to grey images
                int[] row = new int[w * bands];
                for (int y = 0; y < h; y++) {
                    r.getPixels(0, y, w, 1, row);
                    for (int x = 0; x < w; x++) {
                        int o = (y * w + x) * 3;
                        int p = x * bands;
                        if (bands <= 2) {
                            byte g = (byte) row[p];
                            out[o] = g;
                            out[o + 1] = g;
                            out[o + 2] = g;
                        } else {
                            out[o] = (byte) row[p];
                            out[o + 1] = (byte) row[p + 1];
                            out[o + 2] = (byte) row[p + 2];
                        }
                    }
                }
            } else {
                int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
                for (int i = 0; i < argb.length; i++) {
                    out[i * 3] = (byte) (argb[i] >>> 16);
                    out[i * 3 + 1] = (byte) (argb[i] >>> 8);
                    out[i * 3 + 2] = (byte) argb[i];
                }
            }
            return new RgbImage(w, h, out);
        }
    }
}
