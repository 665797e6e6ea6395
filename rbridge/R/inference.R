# Inference checks of the R cross-check: the placebo permutations replayed through fixest (or
# base R), HonestDiD's robust confidence sets on fixest's event study, and DoubleML's
# partially linear model on the project's folds. Sourced with bridge.R.

# The permuted treatment of every row (columns) from the cohort of each unit under each
# permutation (cohorts: units x permutations, in the order of `cities`; 0 = never treated).
rb_permuted_treatment <- function(data, unit, time, cities, cohorts) {
  g <- cohorts[match(data[[unit]], cities), , drop = FALSE]
  if (anyNA(g)) stop("a unit of the panel is missing from the permutations")
  D <- (g > 0) & (data[[time]] >= g)
  storage.mode(D) <- "double"
  colnames(D) <- paste0(".rb_perm", seq_len(ncol(D)))
  D
}

# The randomization test of the treatment's coefficient: p = (1 + #(|b_perm| >= |b| - tie)) /
# (1 + B), with the permutation's mean and standard deviation. Keys "p_value",
# "actual_coefficient", "placebo_mean", "placebo_sd" (quantity "estimate").
rb_placebo_values <- function(actual, draws, tie, n_obs) {
  p <- (1 + sum(abs(draws) >= abs(actual) - tie)) / (1 + length(draws))
  rb_append(
    rb_terms(c("p_value", "actual_coefficient", "placebo_mean", "placebo_sd"),
             c(p, actual, mean(draws), stats::sd(draws))),
    rb_values("", "n_obs", n_obs)
  )
}

# The permutations through fixest: one feols per permuted assignment (sw(), the fixed effects
# demeaned once), outcome ~ treatment | fixed effects.
rb_placebo_feols <- function(data, outcome, treatment, fixef, unit, time, cities, cohorts,
                             tie) {
  fe <- rb_sum(rb_fixef_terms(fixef))
  one <- stats::as.formula(call("~", as.name(outcome), call("|", as.name(treatment), fe)),
                           env = baseenv())
  actual <- stats::coef(fixest::feols(one, data = data, vcov = "iid", fixef.tol = 1e-10,
                                       nthreads = 1))[[treatment]]
  D <- rb_permuted_treatment(data, unit, time, cities, cohorts)
  perm <- cbind(data[, unique(c(outcome, unit, time, unlist(fixef))), drop = FALSE], D)
  rhs <- as.call(c(list(as.name("sw")), lapply(colnames(D), as.name)))
  many <- stats::as.formula(call("~", as.name(outcome), call("|", rhs, fe)), env = baseenv())
  fits <- fixest::feols(many, data = perm, vcov = "iid", fixef.tol = 1e-10, nthreads = 1)
  draws <- vapply(seq_len(ncol(D)), function(j) unname(stats::coef(fits[[j]]))[1], numeric(1))
  rb_placebo_values(actual, draws, tie, nrow(data))
}

# The same in base R: the outcome and every treatment column residualized on the factor
# fixed effects by one least-squares fit (lm.fit on the dummy matrix), then each coefficient
# as the ratio of residual cross-products (Frisch-Waugh-Lovell).
rb_placebo_lm <- function(data, outcome, treatment, fixef, unit, time, cities, cohorts, tie) {
  fe <- lapply(fixef, function(parts) call("factor", as.name(parts[[1]])))
  if (any(lengths(fixef) > 1)) stop("combined fixed effects are not mirrored in base R here")
  X <- stats::model.matrix(stats::as.formula(call("~", rb_sum(fe)), env = baseenv()), data)
  D <- rb_permuted_treatment(data, unit, time, cities, cohorts)
  R <- stats::lm.fit(X, cbind(data[[outcome]], data[[treatment]], D))$residuals
  b <- colSums(R[, -1, drop = FALSE] * R[, 1]) / colSums(R[, -1, drop = FALSE]^2)
  rb_placebo_values(b[[1]], unname(b[-1]), tie, nrow(data))
}

# The event-study coefficients of a fixest fit (terms event_var::k, k not a reference) and
# their covariance, normalised to honest_ref as the restrictions are stated: b'_k = b_k -
# b_ref for every other k, the old reference entering as -b_ref (A b, A V A').
rb_event_coefs <- function(fit, event_var, old_ref, honest_ref) {
  b <- stats::coef(fit)
  V <- stats::vcov(fit)
  prefix <- paste0(event_var, "::")
  keep <- startsWith(names(b), prefix)
  times <- as.numeric(substring(names(b)[keep], nchar(prefix) + 1))
  o <- order(times)
  b <- unname(b[keep][o])
  V <- unname(as.matrix(V[keep, keep, drop = FALSE])[o, o])
  times <- times[o]
  if (honest_ref != old_ref) {
    if (!(honest_ref %in% times)) stop("event time ", honest_ref, " was not estimated")
    new_times <- sort(setdiff(c(times, old_ref), honest_ref))
    A <- matrix(0, length(new_times), length(times))
    for (r in seq_along(new_times)) {
      if (new_times[r] != old_ref) A[r, match(new_times[r], times)] <- 1
      A[r, match(honest_ref, times)] <- A[r, match(honest_ref, times)] - 1
    }
    b <- drop(A %*% b)
    V <- A %*% V %*% t(A)
    times <- new_times
  }
  list(times = times, b = b, V = V)
}

# The relative-magnitudes breakdown value: bisection on Mbar over [0, upper] to tol of whether
# the test accepts theta = 0 (the sets are intervals around the estimate there), reporting the
# upper end of the final bracket, as the project does (0 if accepted at 0, NA if not at upper).
rb_rm_breakdown <- function(common, method, upper, tol) {
  accepts_zero <- function(mbar) {
    res <- suppressWarnings(do.call(HonestDiD::computeConditionalCS_DeltaRM,
      c(common, list(Mbar = mbar, hybrid_flag = if (method == "C-LF") "LF" else "ARP",
                     gridPoints = 1, grid.lb = 0, grid.ub = 0))))
    res$accept[1] == 1
  }
  if (accepts_zero(0)) return(0)
  if (!accepts_zero(upper)) return(NA_real_)
  lo <- 0
  hi <- upper
  while (hi - lo > tol) {
    mid <- (lo + hi) / 2
    if (accepts_zero(mid)) hi <- mid else lo <- mid
  }
  hi
}

# The smoothness breakdown value: the smallest M in [0, upper] whose FLCI covers zero, whatever
# the sign of the effect, by bisection to tol (the upper end of the last bracket, as the project
# reports it); 0 if the interval covers 0 at M = 0, NA if not at upper (reported as "> upper").
rb_sd_breakdown <- function(sd_set, upper, tol) {
  covers <- function(m) {
    ends <- sd_set(m)
    ends[1] <= 0 && 0 <= ends[2]
  }
  if (covers(0)) return(0)
  if (!covers(upper)) return(NA_real_)
  lo <- 0
  hi <- upper
  while (hi - lo > tol) {
    mid <- (lo + hi) / 2
    if (covers(mid)) hi <- mid else lo <- mid
  }
  hi
}

# HonestDiD's robust confidence sets for the mean of the post-period coefficients 0..post_max
# of fixest's event study, over a grid of Mbar (relative magnitudes; method "C-LF" or
# "Conditional") or M (smoothness; "FLCI"), and the breakdown value. Relative-magnitudes ends
# are accepted points of HonestDiD's grid, refined as rbridge/R/honest_reference.R does
# (COARSE_POINTS over the identified set +/- BRACKET_SES SE, then REFINE_POINTS across the
# step outside each end until the step is below target_step_se times the target's SE); the
# breakdown is a bisection on
# Mbar over [0, breakdown_max] to breakdown_tol (rb_rm_breakdown), and for FLCI a bisection on M
# of whether the FLCI covers zero, whatever the sign (rb_sd_breakdown).
# Keys: the grid's terms with conf_low / conf_high, "breakdown" and "target" (estimate and
# standard error of l'b).
rb_honest <- function(data, event_args, method, keys, grid, alpha, honest_ref, post_max,
                      breakdown, breakdown_tol = 1e-6, breakdown_max = 10,
                      target_step_se = 1e-4, coarse_points = 401, refine_points = 101,
                      bracket_ses = 20) {
  fit <- do.call(rb_feols_fit, c(list(data = data), event_args))$fit
  es <- rb_event_coefs(fit, event_args$event_var, event_args$event_ref[1], honest_ref)
  pre <- es$times < 0
  post_times <- es$times[!pre]
  if (!identical(as.numeric(post_times), as.numeric(0:post_max))) {
    stop("post-period coefficients ", paste(post_times, collapse = ", "), " are not 0..", post_max)
  }
  num_pre <- sum(pre)
  num_post <- sum(!pre)
  l_vec <- rep(1 / num_post, num_post)
  post <- (num_pre + 1):(num_pre + num_post)
  target <- sum(l_vec * es$b[post])
  se <- sqrt(as.numeric(t(l_vec) %*% es$V[post, post] %*% l_vec))
  target_step <- target_step_se * se
  common <- list(betahat = es$b, sigma = es$V, numPrePeriods = num_pre,
                 numPostPeriods = num_post, l_vec = l_vec, alpha = alpha)
  rm_run <- function(mbar, lb, ub, points) {
    res <- suppressWarnings(do.call(HonestDiD::createSensitivityResults_relativeMagnitudes,
      c(common, list(method = method, Mbarvec = mbar, gridPoints = points, grid.lb = lb,
                     grid.ub = ub))))
    ends <- c(res$lb[1], res$ub[1])
    ends[!is.finite(ends)] <- NA
    ends
  }
  refine <- function(mbar, x, step, side) {
    while (step > target_step) {
      lb <- if (side < 0) x - step else x
      ub <- if (side < 0) x else x + step
      ends <- rm_run(mbar, lb, ub, refine_points)
      x <- if (side < 0) ends[1] else ends[2]
      step <- (ub - lb) / (refine_points - 1)
    }
    x
  }
  rm_set <- function(mbar) {
    id <- HonestDiD:::.compute_IDset_DeltaRM(Mbar = mbar, trueBeta = es$b, l_vec = l_vec,
                                             numPrePeriods = num_pre, numPostPeriods = num_post)
    lb <- id$id.lb - bracket_ses * se
    ub <- id$id.ub + bracket_ses * se
    ends <- rm_run(mbar, lb, ub, coarse_points)
    if (anyNA(ends) || ends[1] <= lb || ends[2] >= ub) stop("set empty or open at Mbar = ", mbar)
    step <- (ub - lb) / (coarse_points - 1)
    c(refine(mbar, ends[1], step, -1), refine(mbar, ends[2], step, 1))
  }
  # The FLCI on the outcome rescaled by the power of two closest to 1 / SE (HonestDiD's cone
  # programs have absolute tolerances and fail on an outcome of order 1e-5); the FLCI is
  # equivariant in the scale and a power of two changes no bit (as analysis.estimators.
  # honest_sd.target_scale).
  unit <- 2^round(-log2(se))
  scaled <- utils::modifyList(common, list(betahat = es$b * unit, sigma = es$V * unit^2))
  sd_set <- function(m) {
    res <- suppressWarnings(do.call(HonestDiD::createSensitivityResults,
                                    c(scaled, list(method = "FLCI", Mvec = m * unit))))
    c(res$lb[1], res$ub[1]) / unit
  }
  smoothness <- method == "FLCI"
  sets <- lapply(grid, if (smoothness) sd_set else rm_set)
  out <- rb_values(c(keys, keys), rep(c("conf_low", "conf_high"), each = length(keys)),
                   c(vapply(sets, `[`, numeric(1), 1), vapply(sets, `[`, numeric(1), 2)))
  out <- rb_append(out, rb_terms("target", target, se))
  if (breakdown) {
    out <- rb_append(out, rb_terms("breakdown", if (smoothness) {
      rb_sd_breakdown(sd_set, breakdown_max, breakdown_tol)
    } else {
      rb_rm_breakdown(common, method, breakdown_max, breakdown_tol)
    }))
  }
  rb_append(out, rb_values("", "n_obs", stats::nobs(fit)))
}

# DoubleML's partially linear model (partialling-out score) with OLS (mlr3's regr.lm) for
# both nuisances, on the project's folds: the rows sorted by unit and time with complete
# data, year dummies (first year left out) among the covariates, and either every variable
# demeaned within unit plus its grand mean (fe "within", DoubleMLPLPR's wg_approx) or unit
# dummies added (fe "dummies"). folds: units x repetitions, the fold (0-based) of each unit
# in the order of `cities`. DoubleML 1.0.2 refuses set_sample_splitting() with cluster data,
# so the two fields its own split_samples() fills (smpls_, smpls_cluster_) are set instead;
# its cluster-robust score and variance (Chiang et al. 2022) then run unchanged. Keys
# "rep::r" (estimate, std_error of repetition r) and "<treatment>" (median over repetitions).
rb_dml_plr <- function(data, outcome, treatment, controls, fe, unit, time, cities, folds) {
  logger <- lgr::get_logger("mlr3")
  threshold <- logger$threshold
  logger$set_threshold("warn")
  on.exit(logger$set_threshold(threshold), add = TRUE)
  d <- data[order(data[[unit]], data[[time]]), c(unit, time, outcome, treatment, controls)]
  d <- d[stats::complete.cases(d), , drop = FALSE]
  add_dummies <- function(d, column, prefix) {
    levels <- sort(unique(d[[column]]))[-1]
    for (v in levels) d[[paste0(prefix, v)]] <- as.numeric(d[[column]] == v)
    list(d = d, names = paste0(prefix, levels))
  }
  years <- add_dummies(d, time, ".rb_year")
  d <- years$d
  xcols <- c(controls, years$names)
  if (fe == "dummies") {
    units <- add_dummies(d, unit, ".rb_unit")
    d <- units$d
    xcols <- c(xcols, units$names)
  } else if (fe == "within") {
    for (v in c(outcome, treatment, xcols)) {
      d[[v]] <- d[[v]] - stats::ave(d[[v]], d[[unit]]) + mean(d[[v]])
    }
  } else {
    stop("fe must be 'within' or 'dummies', not '", fe, "'")
  }
  dt <- data.table::as.data.table(d)
  dml_data <- DoubleML::DoubleMLClusterData$new(dt, y_col = outcome, d_cols = treatment,
                                                x_cols = xcols, cluster_cols = unit)
  k <- max(folds) + 1
  obj <- DoubleML::DoubleMLPLR$new(dml_data, ml_l = mlr3::lrn("regr.lm"),
                                   ml_m = mlr3::lrn("regr.lm"), n_folds = k,
                                   n_rep = ncol(folds), score = "partialling out",
                                   draw_sample_splitting = FALSE)
  smpls <- list()
  smpls_cluster <- list()
  for (r in seq_len(ncol(folds))) {
    row_fold <- folds[match(dt[[unit]], cities), r]
    if (anyNA(row_fold)) stop("a unit of the panel is missing from the folds")
    smpls[[r]] <- list(train_ids = lapply(0:(k - 1), function(j) which(row_fold != j)),
                       test_ids = lapply(0:(k - 1), function(j) which(row_fold == j)))
    smpls_cluster[[r]] <- list(
      train_ids = lapply(0:(k - 1), function(j) list(cities[folds[, r] != j])),
      test_ids = lapply(0:(k - 1), function(j) list(cities[folds[, r] == j])))
  }
  private <- obj$.__enclos_env__$private
  private$smpls_ <- smpls
  private$smpls_cluster_ <- smpls_cluster
  obj$fit()
  reps <- paste0("rep::", seq_len(ncol(folds)))
  out <- rb_terms(reps, obj$all_coef[1, ], obj$all_se[1, ])
  out <- rb_append(out, rb_terms(treatment, stats::median(obj$all_coef[1, ])))
  rb_append(out, rb_counts(nrow(dt), length(unique(dt[[unit]]))))
}
