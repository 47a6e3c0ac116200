package dev.visiontower.api.image;

import com.twelvemonkeys.imageio.metadata.Directory;
import com.twelvemonkeys.imageio.metadata.Entry;
import com.twelvemonkeys.imageio.metadata.jpeg.JPEGSegment;
import com.twelvemonkeys.imageio.metadata.jpeg.JPEGSegmentUtil;
import com.twelvemonkeys.imageio.metadata.tiff.TIFFReader;
import dev.visiontower.api.InvalidInputException;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Decodes with {@code javax.imageio} and the TwelveMonkeys plugins, then turns the samples into 8-bit RGB as PIL's
 * {@code convert("RGB")} does. Kept apart from {@link ImageDecoding} so that nothing from {@code java.desktop} is
 * linked unless an image is decoded.
 *
 * <p>No colour management (PIL applies none): JPEG samples are read raw and converted with libjpeg's own YCbCr
 * arithmetic, so an embedded ICC profile (Display P3 on phones) does not change the pixels; CMYK is inverted and
 * combined as PIL does (PIL assumes Adobe's inverted CMYK in every 4-channel JPEG).
 */
final class DesktopDecoder {
    private DesktopDecoder() {
    }

    static RgbImage decode(byte[] bytes, String name, long maxPixels, ImageLoadOptions options) throws IOException {
        ImageContainer.Format format = ImageContainer.sniff(bytes);
        byte[] exif;
        JpegLayout jpeg = null;
        switch (format) {
            case PNG -> exif = ImageContainer.checkPng(bytes, name);
            case WEBP -> exif = ImageContainer.webpExif(bytes, name);
            case JPEG -> {
                jpeg = JpegLayout.scan(bytes, name);
                exif = jpeg.exif;
            }
            case TIFF -> exif = bytes; // a TIFF file is itself an EXIF structure: orientation is tag 274 of IFD0
            case GIF, BMP -> exif = null;
            default -> throw new InvalidInputException(name + ": not an image in a supported format (PNG, JPEG, WebP, "
                    + "GIF, BMP, TIFF); the file starts with "
                    + java.util.HexFormat.ofDelimiter(" ").formatHex(bytes, 0, Math.min(8, bytes.length)));
        }
        RgbImage image;
        try (ImageInputStream iis = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            java.util.Iterator<ImageReader> readers = ImageIO.getImageReaders(iis);
            if (!readers.hasNext()) {
                throw new InvalidInputException(name + ": no decoder for this " + format + " file (the TwelveMonkeys "
                        + "ImageIO plugins must be on the module or class path for WebP)");
            }
            ImageReader reader = readers.next();
            List<String> warnings = new ArrayList<>();
            reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
            try {
                reader.setInput(iis, true, true);
                long w = reader.getWidth(0);
                long h = reader.getHeight(0);
                checkSize(name, w, h, maxPixels);
                image = jpeg != null ? fromJpegRaster(reader.readRaster(0, null), jpeg, name)
                        : fromImage(reader.read(0), name);
            } finally {
                reader.dispose();
            }
            for (String warning : warnings) {
                String lower = warning.toLowerCase(Locale.ROOT);
                // PIL refuses a cut-off file ("image file is truncated") but loads files its decoder merely warns about
                if (lower.contains("premature end") || lower.contains("truncated")) {
                    throw new InvalidInputException(name + ": truncated " + format + ": " + warning);
                }
            }
        }
        if (options.exifTranspose() && exif != null) {
            image = ExifOrientation.apply(image, orientation(exif));
        }
        return image;
    }

    static void checkSize(String name, long w, long h, long maxPixels) {
        if (w <= 0 || h <= 0) {
            throw new InvalidInputException(name + ": the image declares an empty size " + w + "x" + h);
        }
        long limit = Math.min(maxPixels, (Integer.MAX_VALUE - 16) / 4);
        if (w > limit || h > limit || w * h > limit) {
            throw new InvalidInputException(String.format(Locale.ROOT, "%s: the image declares %dx%d = %,d pixels, "
                    + "more than the limit of %,d (raise it with -D%s=N if the file is trusted)", name, w, h, w * h,
                    limit, ImageDecoding.MAX_PIXELS_PROPERTY));
        }
    }

    /** The EXIF orientation, 1 when the block has none or cannot be parsed (PIL ignores a damaged EXIF block too). */
    static int orientation(byte[] exif) {
        int off = exif.length >= 6 && ImageContainer.ascii(exif, 0, 6).equals("Exif\0\0") ? 6 : 0;
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(exif, off,
                exif.length - off))) {
            Directory ifd = new TIFFReader().read(in);
            Entry e = ifd.getEntryById(274);
            Object v = e == null ? null : e.getValue();
            if (v instanceof Number n) {
                return n.intValue();
            }
            if (v instanceof Object[] a && a.length > 0 && a[0] instanceof Number n) {
                return n.intValue();
            }
            if (v != null && v.getClass().isArray() && java.lang.reflect.Array.getLength(v) > 0
                    && java.lang.reflect.Array.get(v, 0) instanceof Number n) {
                return n.intValue();
            }
            return 1;
        } catch (IOException | RuntimeException e) {
            return 1;
        }
    }

    /** What libjpeg decides about a JPEG's colour space, from the segments before the scan. */
    static final class JpegLayout {
        byte[] exif;
        boolean jfif;
        int adobeTransform = -1;
        int[] componentIds;

        static JpegLayout scan(byte[] bytes, String name) {
            JpegLayout l = new JpegLayout();
            List<JPEGSegment> segments;
            try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
                segments = JPEGSegmentUtil.readSegments(in, JPEGSegmentUtil.ALL_SEGMENTS);
            } catch (IOException | RuntimeException e) {
                throw new InvalidInputException(name + ": damaged JPEG: cannot read its segments: " + e.getMessage(), e);
            }
            for (JPEGSegment s : segments) {
                int m = s.marker() & 0xFF;
                byte[] d = readAll(s.segmentData(), name);
                if (m == 0xE0 && d.length >= 5 && ImageContainer.ascii(d, 0, 5).equals("JFIF\0")) {
                    l.jfif = true;
                } else if (m == 0xE1 && l.exif == null && d.length > 6 && ImageContainer.ascii(d, 0, 6)
                        .equals("Exif\0\0")) {
                    l.exif = java.util.Arrays.copyOfRange(d, 6, d.length);
                } else if (m == 0xEE && d.length >= 12 && ImageContainer.ascii(d, 0, 5).equals("Adobe")) {
                    l.adobeTransform = d[11] & 0xFF;
                } else if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC && l.componentIds == null) {
                    if (d.length < 6 || d.length < 6 + 3 * (d[5] & 0xFF)) {
                        throw new InvalidInputException(name + ": damaged JPEG: its frame header is "
                                + d.length + " bytes, too short for its components");
                    }
                    int n = d[5] & 0xFF;
                    l.componentIds = new int[n];
                    for (int i = 0; i < n; i++) {
                        l.componentIds[i] = d[6 + 3 * i] & 0xFF;
                    }
                }
            }
            if (l.componentIds == null) {
                throw new InvalidInputException(name + ": damaged JPEG: no frame header before the image data");
            }
            return l;
        }

        /** libjpeg's guess for 3 channels (jdapimin.c): RGB only when the file says so. */
        boolean threeChannelsAreRgb() {
            if (jfif) {
                return false;
            }
            if (adobeTransform >= 0) {
                return adobeTransform == 0;
            }
            return componentIds[0] == 'R' && componentIds[1] == 'G' && componentIds[2] == 'B';
        }

        private static byte[] readAll(InputStream in, String name) {
            try (in) {
                return in.readAllBytes();
            } catch (IOException e) {
                throw new InvalidInputException(name + ": damaged JPEG: " + e.getMessage(), e);
            }
        }
    }

    // libjpeg's fixed-point YCbCr -> RGB (jdcolor.c), so that JPEG pixels equal those libjpeg-turbo gives PIL
    private static final int SCALEBITS = 16;
    private static final int ONE_HALF = 1 << (SCALEBITS - 1);
    private static final int[] CR_R = new int[256];
    private static final int[] CB_B = new int[256];
    private static final int[] CR_G = new int[256];
    private static final int[] CB_G = new int[256];

    static {
        for (int i = 0; i < 256; i++) {
            int x = i - 128;
            CR_R[i] = (fix(1.40200) * x + ONE_HALF) >> SCALEBITS;
            CB_B[i] = (fix(1.77200) * x + ONE_HALF) >> SCALEBITS;
            CR_G[i] = -fix(0.71414) * x;
            CB_G[i] = -fix(0.34414) * x + ONE_HALF;
        }
    }

    private static int fix(double v) {
        return (int) (v * (1L << SCALEBITS) + 0.5);
    }

    private static byte clip(int v) {
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    private static RgbImage fromJpegRaster(Raster r, JpegLayout layout, String name) {
        int w = r.getWidth();
        int h = r.getHeight();
        int bands = r.getNumBands();
        if (bands != layout.componentIds.length || (bands != 1 && bands != 3 && bands != 4)
                || r.getTransferType() != DataBuffer.TYPE_BYTE) {
            throw new InvalidInputException(name + ": unsupported JPEG: " + layout.componentIds.length
                    + " components decoded to " + bands + " bands (supported: grey, YCbCr, RGB, CMYK, YCCK)");
        }
        boolean rgbAsStored = bands == 3 && layout.threeChannelsAreRgb();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        int[] row = new int[w * bands];
        for (int y = 0; y < h; y++) {
            r.getPixels(0, y, w, 1, row);
            for (int x = 0; x < w; x++) {
                int o = (y * w + x) * 3;
                int p = x * bands;
                if (bands == 1) {
                    out[o] = out[o + 1] = out[o + 2] = (byte) row[p];
                } else if (bands == 3 && rgbAsStored) {
                    out[o] = (byte) row[p];
                    out[o + 1] = (byte) row[p + 1];
                    out[o + 2] = (byte) row[p + 2];
                } else if (bands == 3) {
                    int yy = row[p];
                    int cb = row[p + 1];
                    int cr = row[p + 2];
                    out[o] = clip(yy + CR_R[cr]);
                    out[o + 1] = clip(yy + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS));
                    out[o + 2] = clip(yy + CB_B[cb]);
                } else {
                    // libjpeg hands out CMYK (YCCK already converted); PIL reads every 4-channel JPEG as inverted
                    cmykToRgb(255 - row[p], 255 - row[p + 1], 255 - row[p + 2], 255 - row[p + 3], out, o);
                }
            }
        }
        return new RgbImage(w, h, out);
    }

    /** PIL's {@code cmyk2rgb}: {@code (255 - K) - C * (255 - K) / 255}, with its integer rounding. */
    private static void cmykToRgb(int c, int m, int y, int k, byte[] out, int o) {
        int nk = 255 - k;
        out[o] = clip(nk - mulDiv255(c, nk));
        out[o + 1] = clip(nk - mulDiv255(m, nk));
        out[o + 2] = clip(nk - mulDiv255(y, nk));
    }

    private static int mulDiv255(int a, int b) {
        int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    }

    /** Samples to RGB as PIL's {@code convert("RGB")}: grey replicated, alpha dropped, 16-bit as PIL reads it. */
    private static RgbImage fromImage(BufferedImage img, String name) {
        int w = img.getWidth();
        int h = img.getHeight();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        Raster r = img.getRaster();
        int bands = r.getNumBands();
        int type = r.getTransferType();
        boolean component = img.getColorModel() instanceof ComponentColorModel;
        int space = img.getColorModel().getColorSpace().getType();
        if (component && (type == DataBuffer.TYPE_BYTE || type == DataBuffer.TYPE_USHORT) && bands >= 1 && bands <= 5) {
            boolean sixteen = type == DataBuffer.TYPE_USHORT;
            boolean cmyk = space == ColorSpace.TYPE_CMYK && bands >= 4;
            int[] row = new int[w * bands];
            for (int y = 0; y < h; y++) {
                r.getPixels(0, y, w, 1, row);
                if (sixteen) {
                    for (int i = 0; i < row.length; i++) {
                        // PIL: 16-bit grey is mode I;16 and converts by clipping at 255; every other 16-bit
                        // colour type keeps the high byte of each sample
                        row[i] = bands == 1 ? Math.min(row[i], 255) : row[i] >>> 8;
                    }
                }
                for (int x = 0; x < w; x++) {
                    int o = (y * w + x) * 3;
                    int p = x * bands;
                    if (cmyk) {
                        cmykToRgb(row[p], row[p + 1], row[p + 2], row[p + 3], out, o);
                    } else if (bands <= 2) {
                        out[o] = out[o + 1] = out[o + 2] = (byte) row[p];
                    } else {
                        out[o] = (byte) row[p];
                        out[o + 1] = (byte) row[p + 1];
                        out[o + 2] = (byte) row[p + 2];
                    }
                }
            }
        } else if (component) {
            throw new InvalidInputException(name + ": unsupported sample layout: " + bands + " bands of "
                    + (r.getSampleModel().getSampleSize(0)) + "-bit samples (transfer type " + type + ")");
        } else {
            // palettes and packed pixels: the colour model's sRGB values, alpha dropped
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
