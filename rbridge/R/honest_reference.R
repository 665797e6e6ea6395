# Reference values of R's HonestDiD for the study's event study, committed as data
# (tests/reference/honest_reference.csv and its sidecar honest_reference.json) so that
# tests/test_honest_rm.py checks analysis/estimators/honest_rm.py against R without R.
# Regenerate whenever the event study changes (the tests compare the input's sha256):
#
#   python tools/honest_input.py
#   R_LIBS=~/R/rbridge Rscript rbridge/R/honest_reference.R \
#       tests/reference/honest_input.json tests/reference/honest_reference.csv
#
# What is computed (alpha, l_vec, the Mbar and M grids come from the input file):
# - relative magnitudes, methods "C-LF" and "Conditional":
#   createSensitivityResults_relativeMagnitudes on a grid of COARSE_POINTS values over the
#   identified set widened by BRACKET_SES standard errors of l'betahat_post; each end is then
#   refined by re-running on a grid of REFINE_POINTS values spanning the one grid step
#   outside it, until the step is below TARGET_STEP. HonestDiD reports the lowest and the
#   highest accepted grid value, so the refined ends lie inside the true ends by at most the
#   final step (column `resolution`);
# - the identified sets of Delta^RM(Mbar) (HonestDiD's own LPs);
# - the breakdown value of each method: bisection on Mbar, to BREAKDOWN_TOL, of whether the
#   test accepts theta = 0 (the sets are intervals around 0 there, so this is conf_low <= 0);
# - smoothness Delta^SD(M), method "FLCI" (createSensitivityResults), and the original
#   confidence set (constructOriginalCS);
# - the least-favourable critical value of every piece (s, sign) at every Mbar and a few of
#   R's normals after set.seed(0), which the Python side reproduces draw for draw.
# The sidecar records R's and the packages' versions, the input's sha256 and the input as R
# read it (17 significant digits).

COARSE_POINTS <- 401
REFINE_POINTS <- 101
TARGET_STEP <- 1e-6
BRACKET_SES <- 20
BREAKDOWN_TOL <- 1e-6
BREAKDOWN_MAX <- 10

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript honest_reference.R HONEST_INPUT.json OUT.csv")
input_file <- args[1]
out_file <- args[2]
sidecar_file <- sub("\\.csv$", ".json", out_file)

suppressPackageStartupMessages(library(HonestDiD))
started <- Sys.time()
inp <- jsonlite::fromJSON(input_file, simplifyVector = TRUE)
betahat <- as.numeric(inp$betahat)
sigma <- as.matrix(inp$sigma)
num_pre <- as.integer(inp$num_pre)
num_post <- as.integer(inp$num_post)
l_vec <- as.numeric(inp$l_vec)
alpha <- as.numeric(inp$alpha)
stopifnot(length(betahat) == num_pre + num_post, all(dim(sigma) == length(betahat)),
          length(l_vec) == num_post)
post <- (num_pre + 1):(num_pre + num_post)
se_theta <- sqrt(as.numeric(t(l_vec) %*% sigma[post, post] %*% l_vec))
sha <- sub(" .*", "", system2("sha256sum", shQuote(input_file), stdout = TRUE))
g17 <- function(x) trimws(formatC(as.numeric(x), digits = 17, format = "g"))
log_line <- function(...) cat(format(Sys.time(), "%H:%M:%S"), ..., "\n")

# One run of HonestDiD's relative-magnitudes sets on [lb, ub] with `points` grid values:
# the lowest and the highest accepted value (NA when none is accepted).
rm_run <- function(method, mbar, lb, ub, points) {
  res <- suppressWarnings(createSensitivityResults_relativeMagnitudes(
    betahat = betahat, sigma = sigma, numPrePeriods = num_pre, numPostPeriods = num_post,
    method = method, Mbarvec = mbar, l_vec = l_vec, alpha = alpha, gridPoints = points,
    grid.lb = lb, grid.ub = ub))
  ends <- c(res$lb[1], res$ub[1])
  ends[!is.finite(ends)] <- NA
  ends
}

# Refine an accepted end x whose boundary lies within `step` outside it (side -1: low end).
refine <- function(method, mbar, x, step, side) {
  while (step > TARGET_STEP) {
    lb <- if (side < 0) x - step else x
    ub <- if (side < 0) x else x + step
    ends <- rm_run(method, mbar, lb, ub, REFINE_POINTS)
    x <- if (side < 0) ends[1] else ends[2]
    step <- (ub - lb) / (REFINE_POINTS - 1)
  }
  c(x, step)
}

rows <- list()
add_row <- function(kind, restriction, method, parameter, low, high, resolution) {
  rows[[length(rows) + 1]] <<- data.frame(
    kind = kind, restriction = restriction, method = method, parameter = g17(parameter),
    conf_low = g17(low), conf_high = g17(high), resolution = g17(resolution))
}

for (mbar in inp$mbar) {
  id <- HonestDiD:::.compute_IDset_DeltaRM(Mbar = mbar, trueBeta = betahat, l_vec = l_vec,
                                           numPrePeriods = num_pre, numPostPeriods = num_post)
  add_row("identified_set", "relative_magnitude", "identified", mbar, id$id.lb, id$id.ub, NA)
  lb <- id$id.lb - BRACKET_SES * se_theta
  ub <- id$id.ub + BRACKET_SES * se_theta
  step <- (ub - lb) / (COARSE_POINTS - 1)
  for (method in c("C-LF", "Conditional")) {
    ends <- rm_run(method, mbar, lb, ub, COARSE_POINTS)
    if (anyNA(ends) || ends[1] <= lb || ends[2] >= ub) stop("set empty or open at Mbar = ", mbar)
    low <- refine(method, mbar, ends[1], step, -1)
    high <- refine(method, mbar, ends[2], step, 1)
    add_row("set", "relative_magnitude", method, mbar, low[1], high[1], max(low[2], high[2]))
    log_line(method, "Mbar", mbar, ":", g17(low[1]), g17(high[1]))
  }
}

# Breakdown: bisection on Mbar of whether the test accepts theta = 0.
accepts_zero <- function(method, mbar) {
  res <- suppressWarnings(computeConditionalCS_DeltaRM(
    betahat = betahat, sigma = sigma, numPrePeriods = num_pre, numPostPeriods = num_post,
    l_vec = l_vec, Mbar = mbar, alpha = alpha,
    hybrid_flag = if (method == "C-LF") "LF" else "ARP",
    gridPoints = 1, grid.lb = 0, grid.ub = 0))
  res$accept[1] == 1
}
for (method in c("C-LF", "Conditional")) {
  if (accepts_zero(method, 0)) {
    value <- 0
  } else if (!accepts_zero(method, BREAKDOWN_MAX)) {
    value <- NA
  } else {
    lo <- 0
    hi <- BREAKDOWN_MAX
    while (hi - lo > BREAKDOWN_TOL) {
      mid <- (lo + hi) / 2
      if (accepts_zero(method, mid)) hi <- mid else lo <- mid
    }
    value <- hi
  }
  add_row("breakdown", "relative_magnitude", method, value, NA, NA, BREAKDOWN_TOL)
  log_line(method, "breakdown", g17(value))
}

sd_res <- suppressWarnings(createSensitivityResults(
  betahat = betahat, sigma = sigma, numPrePeriods = num_pre, numPostPeriods = num_post,
  method = "FLCI", Mvec = inp$m, l_vec = l_vec, alpha = alpha))
for (i in seq_len(nrow(sd_res))) {
  add_row("set", "smoothness", "FLCI", sd_res$M[i], sd_res$lb[i], sd_res$ub[i], NA)
}
orig <- constructOriginalCS(betahat = betahat, sigma = sigma, numPrePeriods = num_pre,
                            numPostPeriods = num_post, l_vec = l_vec, alpha = alpha)
add_row("set", "none", "original", NA, orig$lb, orig$ub, NA)

# Least-favourable critical values of every piece, as .ARP_computeCI computes them.
gamma_inv <- solve(HonestDiD:::.construct_Gamma(l_vec))
lf <- list()
for (mbar in inp$mbar) {
  for (s in (-(num_pre - 1)):0) {
    for (max_positive in c(TRUE, FALSE)) {
      A <- HonestDiD:::.create_A_RM(numPrePeriods = num_pre, numPostPeriods = num_post,
                                    Mbar = mbar, s = s, max_positive = max_positive)
      arp_rows <- which(rowSums(A[, post, drop = FALSE] != 0) > 0)
      X <- (A[, post, drop = FALSE] %*% gamma_inv)[, -1, drop = FALSE]
      cv <- HonestDiD:::.compute_least_favorable_cv(X_T = X, sigma = A %*% sigma %*% t(A),
                                                     hybrid_kappa = alpha / 10,
                                                     rowsForARP = arp_rows, seed = 0)
      lf[[length(lf) + 1]] <- list(mbar = mbar, s = s, max_positive = max_positive,
                                   lf_cv = g17(cv))
    }
  }
}

set.seed(0)
normals <- rnorm(12000)
write.csv(do.call(rbind, rows), out_file, row.names = FALSE, quote = TRUE)
version_of <- function(p) {
  if (nzchar(system.file(package = p))) as.character(utils::packageVersion(p)) else NA
}
packages <- c("HonestDiD", "CVXR", "osqp", "lpSolveAPI", "Rglpk", "mvtnorm", "TruncatedNormal",
              "Matrix", "jsonlite")
sidecar <- list(
  script = "rbridge/R/honest_reference.R",
  R = paste(R.version$major, R.version$minor, sep = "."),
  packages = as.list(setNames(vapply(packages, version_of, character(1)), packages)),
  input = basename(input_file),
  input_sha256 = sha,
  input_as_read = list(betahat = g17(betahat), sigma = g17(as.vector(t(sigma))),
                       l_vec = g17(l_vec), alpha = g17(alpha)),
  settings = list(coarse_points = COARSE_POINTS, refine_points = REFINE_POINTS,
                  target_step = TARGET_STEP, bracket_ses = BRACKET_SES,
                  breakdown_tol = BREAKDOWN_TOL, breakdown_max = BREAKDOWN_MAX,
                  hybrid_kappa = "alpha / 10", lf_sims = 1000, seed = 0),
  lf_cv = lf,
  rnorm_seed0 = list(index = c(1, 2, 3, 1000, 11999, 12000),
                     value = g17(normals[c(1, 2, 3, 1000, 11999, 12000)])),
  seconds = round(as.numeric(difftime(Sys.time(), started, units = "secs")), 1)
)
writeLines(jsonlite::toJSON(sidecar, auto_unbox = TRUE, pretty = TRUE, null = "null",
                            na = "null"), sidecar_file)
cat("wrote", out_file, "and", sidecar_file, "\n")
