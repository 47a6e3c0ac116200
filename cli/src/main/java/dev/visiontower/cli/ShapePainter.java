package dev.visiontower.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.util.Random;

/** Draws the pictures of {@code make-shapes} with Java 2D. Colours follow {@link MakeShapesCommand#COLORS}. */
final class ShapePainter {
    private static final Color[] RGB = {new Color(220, 40, 40), new Color(40, 170, 60), new Color(40, 80, 220),
        new Color(235, 215, 40), new Color(150, 50, 190), new Color(245, 140, 30)};
    /** The colours as drawing programs name them (CSS / X11). */
    private static final Color[] PURE = {new Color(255, 0, 0), new Color(0, 128, 0), new Color(0, 0, 255),
        new Color(255, 255, 0), new Color(128, 0, 128), new Color(255, 165, 0)};
    private final int size;
    private final int maxSize;

    ShapePainter(int size, int maxSize) {
        this.size = size;
        this.maxSize = maxSize;
    }

    record Sample(BufferedImage image, double scale, double cx, double cy) {
    }

    /**
     * One picture: a side of {@code --size} or, with {@code --max-size}, a random side up to it; a flat, gradient,
     * noisy or striped background; the shape at a random size and position, mostly slightly rotated, in a shade of
     * its colour, with no outline or a dark, black or white one of random width.
     */
    Sample render(Random rnd, String shape, int colorIndex) {
        int side = maxSize > size ? size + rnd.nextInt(maxSize - size + 1) : size;
        BufferedImage img = new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, rnd.nextInt(4) == 0
                ? RenderingHints.VALUE_ANTIALIAS_OFF : RenderingHints.VALUE_ANTIALIAS_ON);
        background(g, rnd, side);
        double scale = 0.3 + rnd.nextDouble() * 0.5; // shape extent as a fraction of the image
        double r = scale * side / 2;
        double cx = r + rnd.nextDouble() * (side - 2 * r);
        double cy = r + rnd.nextDouble() * (side - 2 * r);
        Shape s = outline(shape, r);
        AffineTransform at = new AffineTransform();
        at.translate(cx, cy);
        at.rotate(rnd.nextInt(5) == 0 ? rnd.nextDouble() * 2 * Math.PI : Math.toRadians(rnd.nextGaussian() * 12));
        Shape placed = at.createTransformedShape(s);
        Color c = shade(rnd, RGB[colorIndex]);
        g.setColor(c);
        g.fill(placed);
        int edge = rnd.nextInt(4);
        if (edge > 0) {
            g.setColor(edge == 1 ? new Color(c.getRed() / 2, c.getGreen() / 2, c.getBlue() / 2)
                    : edge == 2 ? Color.BLACK : Color.WHITE);
            g.setStroke(new BasicStroke((float) (side / 64.0 * (0.5 + rnd.nextDouble() * 3))));
            g.draw(placed);
        }
        g.dispose();
        return new Sample(img, scale, cx / side, cy / side);
    }

    /** A shade of a colour: the pure colour some of the time, else jittered per channel and in brightness. */
    private static Color shade(Random rnd, Color base) {
        if (rnd.nextInt(5) == 0) {
            return PURE[java.util.Arrays.asList(RGB).indexOf(base)];
        }
        double light = 0.8 + rnd.nextDouble() * 0.35;
        return new Color(clamp((int) (base.getRed() * light) + rnd.nextInt(41) - 20),
                clamp((int) (base.getGreen() * light) + rnd.nextInt(41) - 20),
                clamp((int) (base.getBlue() * light) + rnd.nextInt(41) - 20));
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }

    /** A muted colour for backgrounds: a grey level with a little of a random hue. */
    private static Color muted(Random rnd) {
        int grey = 60 + rnd.nextInt(160);
        double mix = rnd.nextDouble() * 0.35;
        return new Color(clamp((int) (grey * (1 - mix) + rnd.nextInt(256) * mix)),
                clamp((int) (grey * (1 - mix) + rnd.nextInt(256) * mix)),
                clamp((int) (grey * (1 - mix) + rnd.nextInt(256) * mix)));
    }

    private void background(Graphics2D g, Random rnd, int side) {
        Color a = muted(rnd);
        switch (rnd.nextInt(4)) {
            case 0 -> { // flat
                g.setColor(a);
                g.fillRect(0, 0, side, side);
            }
            case 1 -> { // linear gradient between two muted colours, in any direction
                double t = rnd.nextDouble() * 2 * Math.PI;
                float dx = (float) (Math.cos(t) * side / 2);
                float dy = (float) (Math.sin(t) * side / 2);
                g.setPaint(new java.awt.GradientPaint(side / 2f - dx, side / 2f - dy, a, side / 2f + dx,
                        side / 2f + dy, muted(rnd)));
                g.fillRect(0, 0, side, side);
            }
            case 2 -> { // noise around a level, in blocks of 1 to 3 pixels
                int block = 1 + rnd.nextInt(3);
                double sigma = 8 + rnd.nextDouble() * 16;
                for (int y = 0; y < side; y += block) {
                    for (int x = 0; x < side; x += block) {
                        int n = (int) (rnd.nextGaussian() * sigma);
                        g.setColor(new Color(clamp(a.getRed() + n), clamp(a.getGreen() + n), clamp(a.getBlue() + n)));
                        g.fillRect(x, y, block, block);
                    }
                }
            }
            default -> { // soft stripes at a random angle
                g.setColor(a);
                g.fillRect(0, 0, side, side);
                AffineTransform old = g.getTransform();
                g.rotate(rnd.nextDouble() * Math.PI, side / 2.0, side / 2.0);
                double period = side * (0.08 + rnd.nextDouble() * 0.12);
                g.setColor(new Color(clamp(a.getRed() - 30), clamp(a.getGreen() - 25), clamp(a.getBlue() - 20)));
                for (double k = -side; k < 2 * side; k += period) {
                    g.fill(new Rectangle2D.Double(k, -side, period / 2.0, 3 * side));
                }
                g.setTransform(old);
            }
        }
    }

    private static Shape outline(String shape, double r) {
        switch (shape) {
            case "circle":
                return new Ellipse2D.Double(-r, -r, 2 * r, 2 * r);
            case "square":
                return new Rectangle2D.Double(-r * 0.8, -r * 0.8, 1.6 * r, 1.6 * r);
            case "triangle": {
                Path2D p = new Path2D.Double();
                for (int k = 0; k < 3; k++) {
                    double a = -Math.PI / 2 + k * 2 * Math.PI / 3;
                    if (k == 0) {
                        p.moveTo(r * Math.cos(a), r * Math.sin(a));
                    } else {
                        p.lineTo(r * Math.cos(a), r * Math.sin(a));
                    }
                }
                p.closePath();
                return p;
            }
            case "star": {
                Path2D p = new Path2D.Double();
                for (int k = 0; k < 10; k++) {
                    double a = -Math.PI / 2 + k * Math.PI / 5;
                    double rr = k % 2 == 0 ? r : r * 0.42;
                    if (k == 0) {
                        p.moveTo(rr * Math.cos(a), rr * Math.sin(a));
                    } else {
                        p.lineTo(rr * Math.cos(a), rr * Math.sin(a));
                    }
                }
                p.closePath();
                return p;
            }
            case "cross": {
                double t = r * 0.33;
                Path2D p = new Path2D.Double(new Rectangle2D.Double(-r, -t, 2 * r, 2 * t));
                p.append(new Rectangle2D.Double(-t, -r, 2 * t, 2 * r), false);
                return p;
            }
            default:
                throw new IllegalArgumentException(shape);
        }
    }

}
