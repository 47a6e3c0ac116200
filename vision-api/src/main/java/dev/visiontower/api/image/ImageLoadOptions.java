package dev.visiontower.api.image;

/**
 * How image files are turned into pixels.
 *
 * @param exifTranspose turn the pixels upright as the file's EXIF orientation says (Hugging Face's {@code load_image}
 *                      does, through PIL's {@code ImageOps.exif_transpose}); {@code false} keeps the stored
 *                      orientation, as open_clip's preprocessing (a plain PIL open) and timm do
 */
public record ImageLoadOptions(boolean exifTranspose) {
    /** As Hugging Face's {@code load_image}: EXIF orientation applied. The default. */
    public static final ImageLoadOptions HUGGING_FACE = new ImageLoadOptions(true);
    /** As open_clip and timm: pixels kept as stored. */
    public static final ImageLoadOptions STORED_ORIENTATION = new ImageLoadOptions(false);
}
