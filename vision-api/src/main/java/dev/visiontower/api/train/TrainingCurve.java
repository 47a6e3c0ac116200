package dev.visiontower.api.train;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Locale;

/** A PNG with the training loss per step and the held-out zero-shot accuracy per epoch. */
final class TrainingCurve {
    private TrainingCurve() {
    }

    /**
     * The curves of a run's {@code metrics.jsonl} lines as a PNG, or null where the runtime has no
     * {@code java.desktop} (a trimmed runtime trains without the picture).
     */
    static byte[] pngOrNull(List<String> metrics) {
        List<double[]> loss = new java.util.ArrayList<>();
        List<double[]> accuracy = new java.util.ArrayList<>();
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        for (String line : metrics) {
            com.fasterxml.jackson.databind.JsonNode o;
            try {
                o = json.readTree(line);
            } catch (IOException e) {
                continue; // a damaged line of an earlier run loses its point, not the run
            }
            if (o.has("loss")) {
                loss.add(new double[] {o.get("step").asDouble(), o.get("loss").asDouble()});
            } else if (o.path("heldout_zero_shot_accuracy").isNumber()) {
                accuracy.add(new double[] {o.get("epoch").asDouble(), o.get("heldout_zero_shot_accuracy").asDouble()});
            }
        }
        try {
            return png(loss, accuracy);
        } catch (LinkageError | IOException e) {
            return null;
        }
    }

    static byte[] png(List<double[]> loss, List<double[]> accuracy) throws IOException {
        int w = 900;
        int h = 360;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        panel(g, 20, 20, 420, 310, loss, "training loss per step", new Color(40, 90, 200), false);
        panel(g, 460, 20, 420, 310, accuracy, "held-out zero-shot accuracy per epoch", new Color(200, 70, 40), true);
        g.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        javax.imageio.ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    private static void panel(Graphics2D g, int x, int y, int w, int h, List<double[]> pts, String title, Color c,
                              boolean unit) {
        g.setColor(Color.BLACK);
        g.drawString(title, x + 10, y + 15);
        int px = x + 50;
        int py = y + 30;
        int pw = w - 60;
        int ph = h - 60;
        g.setColor(new Color(230, 230, 230));
        g.fillRect(px, py, pw, ph);
        if (pts.isEmpty()) {
            return;
        }
        double minX = pts.get(0)[0];
        double maxX = pts.get(pts.size() - 1)[0];
        double minY = unit ? 0 : Double.MAX_VALUE;
        double maxY = unit ? 1 : -Double.MAX_VALUE;
        for (double[] p : pts) {
            if (!unit) {
                minY = Math.min(minY, p[1]);
                maxY = Math.max(maxY, p[1]);
            }
        }
        if (maxY == minY) {
            maxY = minY + 1;
        }
        if (maxX == minX) {
            maxX = minX + 1;
        }
        g.setColor(Color.DARK_GRAY);
        g.drawString(String.format(Locale.ROOT, "%.3g", maxY), x, py + 10);
        g.drawString(String.format(Locale.ROOT, "%.3g", minY), x, py + ph);
        g.drawString(String.format(Locale.ROOT, "%.0f", minX), px, py + ph + 15);
        g.drawString(String.format(Locale.ROOT, "%.0f", maxX), px + pw - 30, py + ph + 15);
        Path2D line = new Path2D.Double();
        for (int i = 0; i < pts.size(); i++) {
            double lx = px + (pts.get(i)[0] - minX) / (maxX - minX) * pw;
            double ly = py + ph - (pts.get(i)[1] - minY) / (maxY - minY) * ph;
            if (i == 0) {
                line.moveTo(lx, ly);
            } else {
                line.lineTo(lx, ly);
            }
        }
        g.setColor(c);
        g.setStroke(new BasicStroke(2f));
        g.draw(line);
    }
}
