# The R side of the bridge: the functions rbridge calls through rpy2, that the reference
# scripts source and that `python -m analysis export-r` copies into replicate.R. Sourced,
# with did.R and inference.R, into an environment of its own.
#
# Nothing here parses text as R code: formulas are built from column names turned into
# symbols (as.name), which rbridge/spec.py has checked against the analysis panel first.
#
# Every estimation function returns its numbers in one long table, in the project's terms:
# list(key = <term>, quantity = "estimate" | "std_error" | "statistic" | "conf_low" |
# "conf_high" | "n_obs" | "n_clusters", value = <number>), built with rb_values().

# Call f with a list of arguments; collect messages and warnings instead of printing them,
# and return an error as data (ok = FALSE) so that Python can raise a clear error.
rb_call <- function(f, args) {
  notes <- character()
  keep <- function(prefix) {
    function(cond) {
      notes <<- c(notes, paste0(prefix, sub("\n$", "", conditionMessage(cond))))
      restart <- if (inherits(cond, "warning")) "muffleWarning" else "muffleMessage"
      invokeRestart(restart)
    }
  }
  out <- tryCatch(
    withCallingHandlers(
      list(ok = TRUE, value = do.call(f, args), error = ""),
      warning = keep("warning: "),
      message = keep("")
    ),
    error = function(e) list(ok = FALSE, value = NULL, error = conditionMessage(e))
  )
  out$notes <- notes
  out
}

# Versions of R and of installed packages, without loading them (NA when absent).
rb_versions <- function(packages) {
  pkg <- vapply(packages, function(p) {
    if (!nzchar(system.file(package = p))) return(NA_character_)
    as.character(utils::packageDescription(p, fields = "Version"))
  }, character(1))
  list(R = paste(R.version$major, R.version$minor, sep = "."), packages = as.list(pkg),
       lib_paths = .libPaths())
}

# A long table of values: one entry per key and quantity.
rb_values <- function(key = character(), quantity = character(), value = numeric()) {
  list(key = as.character(key), quantity = as.character(quantity), value = as.numeric(value))
}

# Estimates and standard errors of terms, as a long table.
rb_terms <- function(term, estimate, std_error = NULL) {
  out <- rb_values(term, rep("estimate", length(term)), estimate)
  if (!is.null(std_error)) out <- rb_append(out, rb_values(term, rep("std_error", length(term)), std_error))
  out
}

rb_append <- function(a, b) {
  list(key = c(a$key, b$key), quantity = c(a$quantity, b$quantity), value = c(a$value, b$value))
}

# The sample counts of a fit (key "").
rb_counts <- function(n_obs, n_clusters) {
  rb_values(c("", ""), c("n_obs", "n_clusters"), c(n_obs, n_clusters))
}

# Sum of language objects: a + b + c. (An empty sum is an error here: fixest recurses
# without end on an empty right-hand side, which crashes an embedded R.)
rb_sum <- function(terms) {
  if (length(terms) == 0) stop("a formula side without any term")
  Reduce(function(a, b) call("+", a, b), terms)
}

# The rows of a restricted sample (all rows when subset_col is NULL): those whose value of
# subset_col is among subset_vals (op "==" or "in") or not among them ("!=" or "not in").
rb_subset <- function(data, subset_col, subset_op = "==", subset_vals = NULL) {
  if (is.null(subset_col)) return(data)
  x <- data[[subset_col]]
  listed <- x %in% subset_vals
  keep <- switch(subset_op, "==" = , "in" = listed, "!=" = , "not in" = !listed,
                 stop("subset operator must be ==, !=, in or not in, not '", subset_op, "'"))
  data[!is.na(x) & keep, , drop = FALSE]
}

# Fixed effects as language objects: a column, or columns combined with ^ (fixest's a^b).
rb_fixef_terms <- function(fixef) {
  lapply(fixef, function(parts) Reduce(function(a, b) call("^", a, b), lapply(parts, as.name)))
}

# Joint F of the pre-period event terms (levels below wald_ref) from coefficients and vcov.
rb_wald <- function(term, estimate, V, event_var, wald_ref) {
  prefix <- paste0(event_var, "::")
  level <- suppressWarnings(as.numeric(substring(term, nchar(prefix) + 1)))
  pre <- which(startsWith(term, prefix) & !is.na(level) & level < wald_ref)
  if (length(pre) == 0 || is.null(V)) return(NA_real_)
  b <- estimate[pre]
  as.numeric(t(b) %*% solve(V[pre, pre, drop = FALSE], b)) / length(pre)
}

# Plain and interaction terms as symbols / calls, with the names R gives their coefficients.
rb_plain_terms <- function(regressors, interactions) {
  terms <- lapply(regressors, as.name)
  for (parts in interactions) {
    terms <- c(terms, list(Reduce(function(a, b) call(":", a, b), lapply(parts, as.name))))
  }
  terms
}

# fixest::feols with every inference setting passed explicitly, on the rows of the sample
# restriction (sunab(): never-treated cohorts recoded to a cohort outside the panel, which
# sunab() reads as never treated): list(fit, data = the rows it was given).
rb_feols_fit <- function(data, outcome, regressors, interactions, event_var, event_ref,
                         sunab_cohort, sunab_period, sunab_never, fixef, vcov_type, cluster,
                         sunab_ref = -1L, K.adj, K.fixef, G.adj, G.df, t.df, fixef.rm,
                         subset_col, subset_op = "==", subset_vals = NULL) {
  data <- rb_subset(data, subset_col, subset_op, subset_vals)
  terms <- rb_plain_terms(regressors, interactions)
  if (!is.null(event_var)) {
    terms <- c(terms, list(as.call(list(as.name("i"), as.name(event_var), ref = event_ref))))
  }
  if (!is.null(sunab_cohort)) {
    cohort <- data[[sunab_cohort]]
    data[[".rb_cohort"]] <- ifelse(cohort == sunab_never, 10000, cohort)
    terms <- c(terms, list(call("sunab", as.name(".rb_cohort"), as.name(sunab_period),
                                ref.p = as.integer(sunab_ref))))
  }
  rhs <- rb_sum(terms)
  if (length(fixef) > 0) rhs <- call("|", rhs, rb_sum(rb_fixef_terms(fixef)))
  fml <- stats::as.formula(call("~", as.name(outcome), rhs), env = baseenv())
  vc <- if (vcov_type == "CRV1") {
    stats::as.formula(call("~", as.name(cluster)), env = baseenv())
  } else {
    vcov_type
  }
  # fixest's demeaning stops on an absolute change (fixef.tol): 1e-10 in units of an outcome
  # of order one, scaled down with a smaller outcome (a rate of order 1e-5 would otherwise be
  # demeaned to five digits), down to fixest's floor of 100 x machine epsilon
  tol <- max(1e-10 * min(1, stats::sd(data[[outcome]], na.rm = TRUE)), 2.3e-12)
  fit <- fixest::feols(
    fml, data = data, vcov = vc,
    ssc = fixest::ssc(K.adj = K.adj, K.fixef = K.fixef, G.adj = G.adj, G.df = G.df, t.df = t.df),
    fixef.rm = fixef.rm, fixef.tol = tol, nthreads = 1
  )
  list(fit = fit, data = data)
}

# The coefficients of rb_feols_fit in the project's terms: fixest's names, with sunab()'s
# "<period>::k" renamed "<term_prefix>::k" and its overall "ATT"; "joint_pre_F" (statistic)
# of the event terms below wald_ref when given; the sample counts.
rb_feols <- function(data, ..., sunab_cohort = NULL, event_var = NULL, vcov_type, cluster,
                     wald_ref = NULL, term_prefix = "event_time") {
  got <- rb_feols_fit(data, ..., sunab_cohort = sunab_cohort, event_var = event_var,
                      vcov_type = vcov_type, cluster = cluster)
  fit <- got$fit
  # coeftable, not vcov: with sunab() the coefficients are aggregated by period while
  # vcov() stays that of the cohort x period interactions.
  ct <- fixest::coeftable(fit)
  V <- stats::vcov(fit)
  term <- rownames(ct)
  if (!is.null(sunab_cohort)) term <- sub("^[^:]*::", paste0(term_prefix, "::"), term)
  out <- rb_terms(term, unname(ct[, 1]), unname(ct[, 2]))
  if (!is.null(wald_ref) && !is.null(event_var) && identical(rownames(V), rownames(ct))) {
    F <- rb_wald(term, unname(ct[, 1]), unname(as.matrix(V)), event_var, wald_ref)
    out <- rb_append(out, rb_values("joint_pre_F", "statistic", F))
  }
  if (!is.null(sunab_cohort)) {
    att <- fixest::coeftable(summary(fit, agg = "ATT"))
    out <- rb_append(out, rb_terms("ATT", att["ATT", 1], att["ATT", 2]))
  }
  n_clusters <- NA_integer_
  if (vcov_type == "CRV1") n_clusters <- length(unique(got$data[[cluster]][fixest::obs(fit)]))
  rb_append(out, rb_counts(stats::nobs(fit), n_clusters))
}

# The number of parameters K of the small-sample factor (n - 1) / (n - K), counted as
# fixest 0.14 documents it for K.fixef = "full" / "none" / "nonnested" (without K.exact):
# all fixed effects but one redundancy per extra dimension; none of them; or leaving out
# the fixed effects nested in the cluster variable.
rb_count_K <- function(k, fe_sizes, nested, K.fixef) {
  n_fe <- length(fe_sizes)
  if (n_fe == 0) return(k)
  full <- k + sum(fe_sizes) - (n_fe - 1)
  switch(K.fixef,
    full = full,
    none = k,
    nonnested = if (all(nested)) k + 1 else max(full - sum(fe_sizes[nested] - 1), k + 1),
    stop("K.fixef must be 'full', 'none' or 'nonnested', not '", K.fixef, "'")
  )
}

# Base R only: lm() with factor fixed effects, sandwich::vcovCL without any adjustment,
# and the small-sample factors computed here explicitly (clustered errors only).
rb_lm <- function(data, outcome, regressors, interactions, event_var, event_ref, fixef,
                  cluster, K.adj, K.fixef, G.adj, subset_col, subset_op = "==",
                  subset_vals = NULL, wald_ref = NULL) {
  data <- rb_subset(data, subset_col, subset_op, subset_vals)
  used_cols <- unique(c(outcome, regressors, unlist(interactions), event_var, unlist(fixef),
                        cluster))
  data <- data[stats::complete.cases(data[, used_cols, drop = FALSE]), , drop = FALSE]
  # A combined fixed effect (a^b) is one factor with a level per observed combination.
  fe_cols <- character(length(fixef))
  for (j in seq_along(fixef)) {
    parts <- fixef[[j]]
    fe_cols[j] <- if (length(parts) == 1) parts else paste0(".rb_fe", j)
    if (length(parts) > 1) data[[fe_cols[j]]] <- as.integer(interaction(data[parts], drop = TRUE))
  }
  fixef <- fe_cols
  terms <- rb_plain_terms(regressors, interactions)
  labels <- c(regressors, vapply(interactions, paste, character(1), collapse = ":"))
  if (!is.null(event_var)) {
    levels <- setdiff(sort(unique(data[[event_var]])), event_ref)
    for (j in seq_along(levels)) {
      column <- paste0(".rb_i", j)
      data[[column]] <- as.numeric(data[[event_var]] == levels[j])
      terms <- c(terms, list(as.name(column)))
      labels <- c(labels, paste0(event_var, "::", levels[j]))
    }
  }
  coef_names <- vapply(terms, function(t) paste(deparse(t), collapse = ""), character(1))
  coef_names <- gsub("`", "", coef_names)
  fe_terms <- lapply(fixef, function(f) call("factor", as.name(f)))
  # The fixed effects first: lm() drops the later of collinear columns, so a regressor
  # collinear with them shows as NA (an error below), and dummies of overlapping fixed
  # effects (city and province x year) are merely aliased.
  fml <- stats::as.formula(call("~", as.name(outcome), rb_sum(c(fe_terms, terms))), env = baseenv())
  fit <- stats::lm(fml, data = data)
  b <- stats::coef(fit)
  # Dummies of fixed effects may be aliased (e.g. city and province x year); a regressor may not.
  if (anyNA(b[coef_names])) {
    stop("collinear terms in the dummy-variable regression: ",
         paste(coef_names[is.na(b[coef_names])], collapse = ", "))
  }
  V0 <- sandwich::vcovCL(fit, cluster = data[[cluster]], type = "HC0", cadjust = FALSE)
  n <- nrow(data)
  G <- length(unique(data[[cluster]]))
  fe_sizes <- vapply(fixef, function(f) length(unique(data[[f]])), numeric(1))
  nested <- vapply(fixef, function(f) {
    all(tapply(data[[cluster]], data[[f]], function(x) length(unique(x))) == 1)
  }, logical(1))
  K <- rb_count_K(length(terms), fe_sizes, nested, K.fixef)
  factor <- (if (K.adj) (n - 1) / (n - K) else 1) * (if (G.adj) G / (G - 1) else 1)
  V <- V0[coef_names, coef_names, drop = FALSE] * factor
  out <- rb_terms(labels, unname(b[coef_names]), unname(sqrt(diag(V))))
  if (!is.null(wald_ref) && !is.null(event_var)) {
    F <- rb_wald(labels, unname(b[coef_names]), unname(as.matrix(V)), event_var, wald_ref)
    out <- rb_append(out, rb_values("joint_pre_F", "statistic", F))
  }
  rb_append(out, rb_counts(n, G))
}
