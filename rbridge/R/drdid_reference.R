# Reference values of Callaway-Sant'Anna with covariates for tests/test_drdid.py: R's
# did::att_gt with xformla (est_method dr, reg, ipw; never-treated controls, varying base
# period, analytical SEs) on the test panel the project writes (tests/_drdid_panel.py), and
# DRDID's drdid_panel / std_ipw_did_panel on a cross-section where the trimming binds.
# Usage: python tools/drdid_panels.py DIR && Rscript rbridge/R/drdid_reference.R \
#   DIR/panel.csv DIR/cross.csv tests/reference/drdid_reference.csv
args <- commandArgs(TRUE)
panel <- read.csv(args[1])
cross <- read.csv(args[2])
rows <- list()
for (m in c("dr", "reg", "ipw")) {
  mp <- suppressWarnings(did::att_gt(
    yname = "y", tname = "year", idname = "unit", gname = "cohort", data = panel,
    xformla = ~x, panel = TRUE, allow_unbalanced_panel = FALSE,
    control_group = "nevertreated", anticipation = 0, weightsname = NULL, alp = 0.05,
    bstrap = FALSE, cband = FALSE, clustervars = NULL, est_method = m, base_period = "varying"))
  rows[[m]] <- data.frame(kind = "attgt", method = m, key = paste0(mp$group, ":", mp$t),
                          estimate = mp$att, std_error = mp$se)
}
X <- cbind(1, cross$x)
for (m in c("dr", "ipw")) {
  f <- if (m == "dr") DRDID::drdid_panel else DRDID::std_ipw_did_panel
  r <- f(y1 = cross$y1, y0 = cross$y0, D = cross$d, covariates = X, inffunc = TRUE)
  rows[[paste0("cross_", m)]] <- data.frame(
    kind = "cross", method = m, key = "ATT", estimate = r$ATT,
    std_error = sqrt(sum(r$att.inf.func^2)) / nrow(cross))
}
out <- do.call(rbind, rows)
out$versions <- paste0("R ", getRversion(), "; did ", packageVersion("did"), "; DRDID ",
                       packageVersion("DRDID"), "; fastglm ", packageVersion("fastglm"))
write.csv(out, args[3], row.names = FALSE)
