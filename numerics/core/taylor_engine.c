/* The Taylor program of numerics/core/taylor.py, interpreted in C over MPFR.
 *
 * One routine, fp_integrate, runs the whole Jorba-Zou integration of a program that
 * TaylorSystem built (its node list, passed as a flat integer "tape").  Every operation
 * mirrors the generated Python of TaylorSystem._codegen and the step loop of
 * taylor.integrate one for one: the same products rounded to the working precision, the
 * same correctly rounded sums (mpfr_sum, which gmpy2.fsum calls), the same order of
 * roundings, the same step-size formula in double precision.  The results are therefore
 * the same bits as the Python route; tests/test_taylor_engine.py checks that they are.
 *
 * Numbers cross the boundary as text: "<hex mantissa>p<binary exponent>" (exact).
 * Status codes and error details go back in `info` (see taylor_engine.py).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gmp.h>
#include <mpfr.h>

enum { K_VAR, K_CONST, K_LIN, K_MUL, K_SQR, K_DIV, K_RECIP, K_POW, K_SQRT, K_EXP, K_LOG,
       K_ABS, K_SIGN, K_SIN, K_COS, K_TANH };

/* tape: NODE_INTS integers per node */
enum { F_KIND, F_A, F_B, F_EXPONENT, F_INDEX, F_NEED_D, F_MONITOR, F_TERM0, F_NTERMS,
       F_CONST0, F_GATHERED, NODE_INTS };

/* status codes */
enum { ST_OK, ST_DOMAIN, ST_ARITH, ST_UNDERFLOW, ST_MAX_STEPS, ST_MONITOR, ST_NONFINITE,
       ST_MEMORY };

/* domain-error messages (the codes of taylor_engine.DOMAIN_MESSAGES) */
enum { D_DIV0, D_POW_ZERO, D_POW_NEG, D_SQRT_ZERO, D_SQRT_NEG, D_LOG_ZERO, D_LOG_NEG,
       D_SIGN_ZERO, D_SIGN_CHANGED };

/* monitor violations (taylor_engine.MONITOR_MESSAGES) */
enum { M_SIGN, M_ARG, M_VALUE };

/* info[] slots */
enum { I_STATUS, I_NODE, I_CODE, I_STEPS, I_COMPONENT, INFO_INTS };

typedef struct {
    int n_nodes, order, prec;
    const int *tape, *term_coef, *term_node;
    mpfr_t **S;     /* series of each node (vars: the state series; consts: NULL) */
    mpfr_t **D;     /* j * x_j of nodes that need it */
    mpfr_t **Z;     /* pow, log: the d-list of the value; sin/cos/tanh: the companion */
    mpfr_t *K;      /* constants */
    int n_const;
    mpfr_t *tmp;    /* products of a dot (n_tmp of them) */
    mpfr_ptr *ptr;
    int n_tmp;
    mpfr_t acc;     /* a partial result of a recurrence */
    int *sig;       /* fixed signs of Abs/sign: 0 unknown, +1, -1 */
    int fail_node, fail_code;
} prog_t;

#define NODE(i, f) (P->tape[(i) * NODE_INTS + (f)])

static mpfr_t *new_series(int len, int prec) {
    mpfr_t *s = malloc(sizeof(mpfr_t) * (size_t)len);
    if (!s) return NULL;
    for (int j = 0; j < len; j++) mpfr_init2(s[j], prec);
    return s;
}

static void free_series(mpfr_t *s, int len) {
    if (!s) return;
    for (int j = 0; j < len; j++) mpfr_clear(s[j]);
    free(s);
}

/* The dot product below without MPFR's per-call costs, and with the same bits.
 *
 * mpfr_mul rounds each product to the working precision p (to nearest, ties to even) and
 * mpfr_sum rounds the exact sum of those products once.  Here each product of two n-limb
 * significands is formed exactly (mul_any), rounded to p bits by the same rule, and added
 * exactly into fixed-point accumulators (one for positive terms, one for negative) that
 * span every term; mpfr_set_z_2exp then rounds their exact difference once.  The engine
 * spends most of its time in these dot products; done this way the Deep LDA layer flows
 * integrate 1.2-1.6x faster at 30 digits and about 2x faster at 50 (same bits).  MPFR's
 * own mpfr_dot rounds the exact dot product once: other bits than the Python route's, which
 * rounds each product (gmpy2 has no dot product), so these rounded products are written here.
 * Returns 0, with res untouched, when a term is not a regular number of precision p (or
 * zero), when every product is zero (the sign of a zero sum is left to mpfr_sum), or when
 * the exponents spread wider than ACC_LIMBS limbs; `dot` then takes the MPFR route. */
#define ACC_LIMBS 48
#define MAX_LIMBS 8      /* exact_dot takes precisions up to 512 bits */

#if GMP_NUMB_BITS == 64 && defined(__SIZEOF_INT128__)
/* rp[0 .. 2N) = a * b for N-limb a, b: schoolbook, unrolled for each working size */
#define MUL_LIMBS(N)                                                                      \
    static void mul_limbs_##N(mp_limb_t *rp, const mp_limb_t *a, const mp_limb_t *b) {   \
        _Pragma("GCC unroll 8") for (int i = 0; i < 2 * N; i++) rp[i] = 0;               \
        _Pragma("GCC unroll 8") for (int i = 0; i < N; i++) {                            \
            mp_limb_t carry = 0;                                                          \
            _Pragma("GCC unroll 8") for (int j = 0; j < N; j++) {                        \
                unsigned __int128 t = (unsigned __int128)a[i] * b[j] + rp[i + j] + carry; \
                rp[i + j] = (mp_limb_t)t;                                                 \
                carry = (mp_limb_t)(t >> 64);                                             \
            }                                                                             \
            rp[i + N] = carry;                                                            \
        }                                                                                 \
    }
MUL_LIMBS(1)
MUL_LIMBS(2)
MUL_LIMBS(3)
MUL_LIMBS(4)
MUL_LIMBS(5)
MUL_LIMBS(6)

static void mul_any(mp_limb_t *rp, const mp_limb_t *a, const mp_limb_t *b, int n) {
    switch (n) {
    case 1: mul_limbs_1(rp, a, b); break;
    case 2: mul_limbs_2(rp, a, b); break;
    case 3: mul_limbs_3(rp, a, b); break;
    case 4: mul_limbs_4(rp, a, b); break;
    case 5: mul_limbs_5(rp, a, b); break;
    case 6: mul_limbs_6(rp, a, b); break;
    default: mpn_mul_n(rp, a, b, n);
    }
}

/* acc[lo ..] += (v[0 .. len) << sh), 0 <= sh < 64, carrying as far as needed */
static inline void add_shifted(mp_limb_t *acc, int lo, const mp_limb_t *v, int len, int sh) {
    mp_limb_t carry = 0, spill = 0;
    int k = lo;
    for (int q = 0; q < len; q++, k++) {
        mp_limb_t part = sh ? (v[q] << sh) | spill : v[q];
        spill = sh ? v[q] >> (64 - sh) : 0;
        unsigned __int128 t = (unsigned __int128)acc[k] + part + carry;
        acc[k] = (mp_limb_t)t;
        carry = (mp_limb_t)(t >> 64);
    }
    unsigned __int128 t = (unsigned __int128)acc[k] + spill + carry;
    acc[k] = (mp_limb_t)t;
    carry = (mp_limb_t)(t >> 64);
    while (carry) carry = ++acc[++k] == 0;
}

static int exact_dot(mpfr_ptr res, int n, mpfr_t *x, int x0, int xs, mpfr_t *y, int y0,
                     int ys) {
    mpfr_prec_t prec = mpfr_get_prec(res);
    int nl = (int)((prec + 63) >> 6);
    if (nl > MAX_LIMBS) return 0;
    mpfr_exp_t emin = 0, emax = 0;
    int any = 0;
    for (int j = 0; j < n; j++) {
        mpfr_srcptr a = x[x0 + j * xs], b = y[y0 + j * ys];
        if (!mpfr_regular_p(a) || !mpfr_regular_p(b)) {
            if ((mpfr_zero_p(a) && (mpfr_regular_p(b) || mpfr_zero_p(b))) ||
                (mpfr_zero_p(b) && mpfr_regular_p(a)))
                continue;   /* a zero product adds nothing to a sum that is not zero */
            return 0;
        }
        if (mpfr_get_prec(a) != prec || mpfr_get_prec(b) != prec) return 0;
        mpfr_exp_t e = mpfr_get_exp(a) + mpfr_get_exp(b);
        if (!any || e < emin) emin = e;
        if (!any || e > emax) emax = e;
        any = 1;
    }
    if (!any) return 0;
    /* a product is P 2^(e - 128 nl) with P < 2^(128 nl) (+1 bit from rounding up), placed
     * at bit e - emin of the accumulators; two spare limbs for carries */
    if (emax - emin > 64L * (ACC_LIMBS - 2 * nl - 4)) return 0;
    int W = (int)((unsigned long)(emax - emin + 128L * nl + 1) >> 6) + 3;
    mp_limb_t pos[ACC_LIMBS], neg[ACC_LIMBS], prod[2 * MAX_LIMBS + 2];
    memset(pos, 0, sizeof(mp_limb_t) * (size_t)W);
    memset(neg, 0, sizeof(mp_limb_t) * (size_t)W);
    for (int j = 0; j < n; j++) {
        mpfr_srcptr a = x[x0 + j * xs], b = y[y0 + j * ys];
        if (mpfr_zero_p(a) || mpfr_zero_p(b)) continue;
        mul_any(prod, (const mp_limb_t *)mpfr_custom_get_significand(a),
                (const mp_limb_t *)mpfr_custom_get_significand(b), nl);
        prod[2 * nl] = 0;
        /* both significands have their top bit set: P has it at bit 128 nl - 1 or - 2 */
        unsigned long top = 128UL * (unsigned long)nl - 1 - !(prod[2 * nl - 1] >> 63);
        unsigned long r = top - (unsigned long)prec + 1;   /* the last bit kept; r >= 63 */
        unsigned long rb = r - 1;
        int rl = (int)(r >> 6), rs = (int)(r & 63), bl = (int)(rb >> 6), bs = (int)(rb & 63);
        int round = (int)((prod[bl] >> bs) & 1);
        int sticky = (prod[bl] & (((mp_limb_t)1 << bs) - 1)) != 0;
        for (int q = 0; q < bl && !sticky; q++) sticky = prod[q] != 0;
        int odd = (int)((prod[rl] >> rs) & 1);
        if (rs) prod[rl] &= ~(((mp_limb_t)1 << rs) - 1);
        if (round && (sticky || odd))    /* to nearest, ties to even, as mpfr_mul */
            mpn_add_1(prod + rl, prod + rl, 2 * nl + 1 - rl, (mp_limb_t)1 << rs);
        /* limbs rl .. 2 nl hold the rounded product: add them at bit (e - emin) + 64 rl */
        unsigned long at = (unsigned long)(mpfr_get_exp(a) + mpfr_get_exp(b) - emin) + 64UL * (unsigned long)rl;
        add_shifted(mpfr_signbit(a) != mpfr_signbit(b) ? neg : pos, (int)(at >> 6), prod + rl,
                    2 * nl + 1 - rl, (int)(at & 63));
    }
    int c = mpn_cmp(pos, neg, W);
    if (c == 0) { mpfr_set_zero(res, 1); return 1; }
    mp_limb_t *d = c > 0 ? pos : neg;
    mpn_sub_n(d, d, c > 0 ? neg : pos, W);
    int size = W;
    while (size > 0 && d[size - 1] == 0) size--;
    mpz_t z;
    mpz_roinit_n(z, d, c > 0 ? size : -size);
    mpfr_set_z_2exp(res, z, emin - 128L * nl, MPFR_RNDN);
    return 1;
}
#else
static int exact_dot(mpfr_ptr res, int n, mpfr_t *x, int x0, int xs, mpfr_t *y, int y0,
                     int ys) {
    (void)res; (void)n; (void)x; (void)x0; (void)xs; (void)y; (void)y0; (void)ys;
    return 0;   /* 32-bit limbs or no 128-bit integers: the MPFR route */
}
#endif

/* res = sum_{j<n} x[x0 + j*xs] * y[y0 + j*ys]: products rounded, one correctly rounded sum
 * (rounded_dot: by MPFR; dot: by exact_dot where it runs, the same bits) */
static void rounded_dot(prog_t *P, mpfr_ptr res, int n, mpfr_t *x, int x0, int xs, mpfr_t *y,
                     int y0, int ys) {
    for (int j = 0; j < n; j++) {
        mpfr_mul(P->tmp[j], x[x0 + j * xs], y[y0 + j * ys], MPFR_RNDN);
        P->ptr[j] = P->tmp[j];
    }
    mpfr_sum(res, P->ptr, (unsigned long)n, MPFR_RNDN);
}

static void dot(prog_t *P, mpfr_ptr res, int n, mpfr_t *x, int x0, int xs, mpfr_t *y, int y0,
                int ys) {
    if (!(n > 0 && exact_dot(res, n, x, x0, xs, y, y0, ys)))
        rounded_dot(P, res, n, x, x0, xs, y, y0, ys);
}

/* k-th coefficient of a^2 (taylor._sqr) */
static void sqr_k(prog_t *P, mpfr_ptr res, mpfr_t *a, int k) {
    int h = (k + 1) / 2;
    dot(P, res, h, a, 0, 1, a, k, -1);
    mpfr_add(res, res, res, MPFR_RNDN);
    if (!(k & 1)) {
        mpfr_mul(P->tmp[0], a[k >> 1], a[k >> 1], MPFR_RNDN);
        mpfr_add(res, res, P->tmp[0], MPFR_RNDN);
    }
}

/* a lin node's coefficient k: the terms (coefficient * operand) summed once, as
 * TaylorSystem._codegen writes it (a gathered row adds its constant after the sum) */
static void lin_k(prog_t *P, int i, int k, mpfr_ptr res) {
    int t0 = NODE(i, F_TERM0), nt = NODE(i, F_NTERMS), c0 = NODE(i, F_CONST0);
    int n = 0;
    for (int t = 0; t < nt; t++) {
        int c = P->term_coef[t0 + t];
        mpfr_t *x = P->S[P->term_node[t0 + t]];
        if (c == -1) mpfr_set(P->tmp[n], x[k], MPFR_RNDN);
        else if (c == -2) mpfr_neg(P->tmp[n], x[k], MPFR_RNDN);
        else mpfr_mul(P->tmp[n], P->K[c], x[k], MPFR_RNDN);
        P->ptr[n] = P->tmp[n];
        n++;
    }
    int separate = NODE(i, F_GATHERED);
    if (k == 0 && c0 >= 0 && !separate) {
        P->ptr[n++] = P->K[c0];
    }
    mpfr_sum(res, P->ptr, (unsigned long)n, MPFR_RNDN);
    if (k == 0 && c0 >= 0 && separate) mpfr_add(res, res, P->K[c0], MPFR_RNDN);
}

static int fixed_sign(prog_t *P, int i, mpfr_ptr x) {
    int slot = NODE(i, F_MONITOR);
    if (mpfr_zero_p(x)) { P->fail_code = D_SIGN_ZERO; return 0; }
    int s = mpfr_sgn(x) > 0 ? 1 : -1;
    if (P->sig[slot] == 0) P->sig[slot] = s;
    else if (P->sig[slot] != s) { P->fail_code = D_SIGN_CHANGED; return 0; }
    return s;
}

#define FAIL(code) do { P->fail_node = i; P->fail_code = (code); return ST_DOMAIN; } while (0)

/* order 0 of every node (values, domain and sign checks) */
static int order0(prog_t *P) {
    for (int i = 0; i < P->n_nodes; i++) {
        int kind = NODE(i, F_KIND);
        if (kind == K_VAR) {
            if (NODE(i, F_NEED_D)) mpfr_set_zero(P->D[i][0], 1);
            continue;
        }
        if (kind == K_CONST) continue;
        mpfr_t *z = P->S[i];
        mpfr_t *x = NODE(i, F_A) >= 0 ? P->S[NODE(i, F_A)] : NULL;
        switch (kind) {
        case K_LIN: lin_k(P, i, 0, z[0]); break;
        case K_MUL: mpfr_mul(z[0], x[0], P->S[NODE(i, F_B)][0], MPFR_RNDN); break;
        case K_SQR: mpfr_mul(z[0], x[0], x[0], MPFR_RNDN); break;
        case K_DIV: {
            mpfr_t *v = P->S[NODE(i, F_B)];
            if (mpfr_zero_p(v[0])) FAIL(D_DIV0);
            mpfr_div(z[0], x[0], v[0], MPFR_RNDN);
            break;
        }
        case K_RECIP:
            if (mpfr_zero_p(x[0])) FAIL(D_DIV0);
            mpfr_ui_div(z[0], 1, x[0], MPFR_RNDN);
            break;
        case K_POW: {
            mpfr_ptr a = P->K[NODE(i, F_EXPONENT)];
            if (mpfr_zero_p(x[0])) FAIL(D_POW_ZERO);
            if (mpfr_sgn(x[0]) < 0 && !mpfr_integer_p(a)) FAIL(D_POW_NEG);
            mpfr_pow(z[0], x[0], a, MPFR_RNDN);
            mpfr_set_zero(P->Z[i][0], 1);
            break;
        }
        case K_SQRT:
            if (mpfr_sgn(x[0]) <= 0) FAIL(mpfr_zero_p(x[0]) ? D_SQRT_ZERO : D_SQRT_NEG);
            mpfr_sqrt(z[0], x[0], MPFR_RNDN);
            break;
        case K_EXP: mpfr_exp(z[0], x[0], MPFR_RNDN); break;
        case K_LOG:
            if (mpfr_sgn(x[0]) <= 0) FAIL(mpfr_zero_p(x[0]) ? D_LOG_ZERO : D_LOG_NEG);
            mpfr_log(z[0], x[0], MPFR_RNDN);
            mpfr_set_zero(P->Z[i][0], 1);
            break;
        case K_ABS: {
            int s = fixed_sign(P, i, x[0]);
            if (!s) FAIL(P->fail_code);
            if (s > 0) mpfr_set(z[0], x[0], MPFR_RNDN); else mpfr_neg(z[0], x[0], MPFR_RNDN);
            break;
        }
        case K_SIGN: {
            int s = fixed_sign(P, i, x[0]);
            if (!s) FAIL(P->fail_code);
            mpfr_set_si(z[0], s, MPFR_RNDN);
            break;
        }
        case K_SIN: mpfr_sin(z[0], x[0], MPFR_RNDN); mpfr_cos(P->Z[i][0], x[0], MPFR_RNDN); break;
        case K_COS: mpfr_cos(z[0], x[0], MPFR_RNDN); mpfr_sin(P->Z[i][0], x[0], MPFR_RNDN); break;
        case K_TANH:
            mpfr_tanh(z[0], x[0], MPFR_RNDN);
            mpfr_mul(P->tmp[0], z[0], z[0], MPFR_RNDN);
            mpfr_ui_sub(P->Z[i][0], 1, P->tmp[0], MPFR_RNDN);
            break;
        default: return ST_MEMORY;
        }
        if (NODE(i, F_NEED_D)) mpfr_set_zero(P->D[i][0], 1);
    }
    return ST_OK;
}

/* the d-list of node x (taylor: dy<i> for a state, d<i> otherwise) */
#define DX(i) (P->D[NODE((i), F_A)])

/* orders 1 .. p-1 of every node, and the state's next coefficients */
static void orders(prog_t *P, int k, mpfr_t **Y, const int *rhs, int dim) {
    mpfr_t *t = &P->acc;
    for (int i = 0; i < P->n_nodes; i++)
        if (NODE(i, F_KIND) == K_VAR && NODE(i, F_NEED_D))
            mpfr_mul_si(P->D[i][k], P->S[i][k], k, MPFR_RNDN);
    for (int i = 0; i < P->n_nodes; i++) {
        int kind = NODE(i, F_KIND);
        if (kind == K_VAR || kind == K_CONST) continue;
        mpfr_t *z = P->S[i];
        mpfr_t *x = NODE(i, F_A) >= 0 ? P->S[NODE(i, F_A)] : NULL;
        switch (kind) {
        case K_LIN: lin_k(P, i, k, z[k]); break;
        case K_MUL: dot(P, z[k], k + 1, x, 0, 1, P->S[NODE(i, F_B)], k, -1); break;
        case K_SQR: sqr_k(P, z[k], x, k); break;
        case K_DIV: {  /* (u_k - sum_{j=1}^k v_j z_{k-j}) / v_0 */
            mpfr_t *v = P->S[NODE(i, F_B)];
            dot(P, t[0], k, v, 1, 1, z, k - 1, -1);
            mpfr_sub(z[k], x[k], t[0], MPFR_RNDN);
            mpfr_div(z[k], z[k], v[0], MPFR_RNDN);
            break;
        }
        case K_RECIP:  /* -sum_{j=1}^k v_j z_{k-j} / v_0 */
            dot(P, t[0], k, x, 1, 1, z, k - 1, -1);
            mpfr_neg(t[0], t[0], MPFR_RNDN);
            mpfr_div(z[k], t[0], x[0], MPFR_RNDN);
            break;
        case K_POW: {  /* (a sum_{j=1}^k dx_j z_{k-j} - sum_{j=1}^{k-1} x_{k-j} zd_j) / x_0 */
            mpfr_t *zd = P->Z[i];
            dot(P, t[0], k, DX(i), 1, 1, z, k - 1, -1);
            mpfr_mul(t[0], P->K[NODE(i, F_EXPONENT)], t[0], MPFR_RNDN);
            dot(P, z[k], k - 1, x, k - 1, -1, zd, 1, 1);
            mpfr_sub(t[0], t[0], z[k], MPFR_RNDN);
            mpfr_div(zd[k], t[0], x[0], MPFR_RNDN);
            mpfr_div_si(z[k], zd[k], k, MPFR_RNDN);
            break;
        }
        case K_SQRT: {  /* (x_k - 2 sum_{j=1}^m z_j z_{k-j} [- z_{k/2}^2]) / (2 z_0) */
            int m = (k - 1) / 2;
            dot(P, t[0], m, z, 1, 1, z, k - 1, -1);
            mpfr_add(t[0], t[0], t[0], MPFR_RNDN);
            if (!(k & 1)) {
                mpfr_mul(z[k], z[k >> 1], z[k >> 1], MPFR_RNDN);
                mpfr_add(t[0], t[0], z[k], MPFR_RNDN);
            }
            mpfr_sub(t[0], x[k], t[0], MPFR_RNDN);
            mpfr_mul_ui(z[k], z[0], 2, MPFR_RNDN);
            mpfr_div(z[k], t[0], z[k], MPFR_RNDN);
            break;
        }
        case K_EXP:  /* sum_{j=1}^k dx_j z_{k-j} / k */
            dot(P, t[0], k, DX(i), 1, 1, z, k - 1, -1);
            mpfr_div_si(z[k], t[0], k, MPFR_RNDN);
            break;
        case K_LOG: {  /* (x_k - sum_{j=1}^{k-1} zd_j x_{k-j} / k) / x_0 */
            mpfr_t *zd = P->Z[i];
            dot(P, t[0], k - 1, zd, 1, 1, x, k - 1, -1);
            mpfr_div_si(t[0], t[0], k, MPFR_RNDN);
            mpfr_sub(t[0], x[k], t[0], MPFR_RNDN);
            mpfr_div(z[k], t[0], x[0], MPFR_RNDN);
            mpfr_mul_si(zd[k], z[k], k, MPFR_RNDN);
            break;
        }
        case K_ABS:
            if (P->sig[NODE(i, F_MONITOR)] > 0) mpfr_set(z[k], x[k], MPFR_RNDN);
            else mpfr_neg(z[k], x[k], MPFR_RNDN);
            break;
        case K_SIGN: mpfr_set_zero(z[k], 1); break;
        case K_SIN: case K_COS: {  /* z = sin (a = cos) or z = cos (a = sin) */
            mpfr_t *a = P->Z[i];
            dot(P, t[0], k, DX(i), 1, 1, a, k - 1, -1);
            mpfr_div_si(t[0], t[0], k, MPFR_RNDN);
            if (kind == K_COS) mpfr_neg(t[0], t[0], MPFR_RNDN);
            dot(P, a[k], k, DX(i), 1, 1, z, k - 1, -1);
            if (kind == K_SIN) mpfr_neg(a[k], a[k], MPFR_RNDN);
            mpfr_div_si(a[k], a[k], k, MPFR_RNDN);
            mpfr_set(z[k], t[0], MPFR_RNDN);
            break;
        }
        case K_TANH: {
            mpfr_t *a = P->Z[i];
            dot(P, t[0], k, DX(i), 1, 1, a, k - 1, -1);
            mpfr_div_si(z[k], t[0], k, MPFR_RNDN);
            sqr_k(P, a[k], z, k);
            mpfr_neg(a[k], a[k], MPFR_RNDN);
            break;
        }
        }
        if (NODE(i, F_NEED_D)) mpfr_mul_si(P->D[i][k], z[k], k, MPFR_RNDN);
    }
    for (int s = 0; s < dim; s++) {
        int r = rhs[s];
        if (NODE(r, F_KIND) == K_CONST) mpfr_set_zero(Y[s][k + 1], 1);
        else mpfr_div_si(Y[s][k + 1], P->S[r][k], k + 1, MPFR_RNDN);
    }
}

/* Taylor coefficients 0..order of the state (Y[s][0] set by the caller) */
static int series(prog_t *P, mpfr_t **Y, const int *rhs, int dim) {
    int st = order0(P);
    if (st != ST_OK) return st;
    for (int s = 0; s < dim; s++) {
        int r = rhs[s];
        if (NODE(r, F_KIND) == K_CONST) mpfr_set(Y[s][1], P->K[NODE(r, F_INDEX)], MPFR_RNDN);
        else mpfr_set(Y[s][1], P->S[r][0], MPFR_RNDN);
    }
    for (int k = 1; k < P->order; k++) orders(P, k, Y, rhs, dim);
    return ST_OK;
}

/* r = c_0 + c_1 h + ... + c_p h^p, Horner with a rounding after each * and + */
static void horner(mpfr_ptr r, mpfr_t *c, int p, mpfr_srcptr h) {
    mpfr_set(r, c[p], MPFR_RNDN);
    for (int j = p - 1; j >= 0; j--) {
        mpfr_mul(r, r, h, MPFR_RNDN);
        mpfr_add(r, r, c[j], MPFR_RNDN);
    }
}

static int read_number(mpfr_ptr x, const char *text) {
    return mpfr_set_str(x, text, 16, MPFR_RNDN);
}

/* "<hex mantissa>p<exponent>" of x (exact), into out (size bytes) */
static void write_number(char *out, size_t size, mpfr_srcptr x, mpz_t m) {
    if (mpfr_zero_p(x)) { snprintf(out, size, "0p0"); return; }
    mpfr_exp_t e = mpfr_get_z_2exp(m, x);
    char *digits = mpz_get_str(NULL, 16, m);
    snprintf(out, size, "%sp%ld", digits, (long)e);
    void (*release)(void *, size_t);
    mp_get_memory_functions(NULL, NULL, &release);
    release(digits, strlen(digits) + 1);
}

static double log_double(mpfr_srcptr x, mpfr_ptr scratch) {
    mpfr_log(scratch, x, MPFR_RNDN);
    return mpfr_get_d(scratch, MPFR_RNDN);
}

/* For the tests: sum_j x_j y_j over n pairs at precision prec by the MPFR route and by
 * exact_dot.  xs, ys: numbers as read_number reads them; out: the MPFR route's result, then
 * exact_dot's, in two slots of slot_size bytes (exact_dot declined: the MPFR route's again).
 * Returns bit 0: exact_dot ran; bits 1 and 2: the sign bits of the two results (of a zero). */
int fp_dot(int prec, int n, const char **xs, const char **ys, char *out, int slot_size) {
    prog_t prog, *P = &prog;
    memset(P, 0, sizeof(prog));
    mpfr_t *x = new_series(n + 1, prec), *y = new_series(n + 1, prec), *r = new_series(2, prec);
    P->tmp = new_series(n + 1, prec);
    P->ptr = calloc((size_t)n + 1, sizeof(mpfr_ptr));
    mpz_t m;
    mpz_init(m);
    for (int j = 0; j < n; j++) { read_number(x[j], xs[j]); read_number(y[j], ys[j]); }
    rounded_dot(P, r[0], n, x, 0, 1, y, 0, 1);
    int ran = n > 0 && exact_dot(r[1], n, x, 0, 1, y, 0, 1);
    if (!ran) mpfr_set(r[1], r[0], MPFR_RNDN);
    write_number(out, slot_size, r[0], m);
    write_number(out + slot_size, slot_size, r[1], m);
    int flags = ran | (mpfr_signbit(r[0]) ? 2 : 0) | (mpfr_signbit(r[1]) ? 4 : 0);
    mpz_clear(m);
    free(P->ptr);
    free_series(P->tmp, n + 1);
    free_series(x, n + 1);
    free_series(y, n + 1);
    free_series(r, 2);
    return flags;
}

/* The integration: see taylor.integrate, whose loop this is.
 *   tape, terms, rhs: the program; consts: n_const numbers; y0: dim numbers;
 *   t0, t_end; outs: n_out output times (strictly monotone, inside [t0, t_end]);
 *   out: (n_out or 1) * dim slots of slot_size bytes for the states, then 2 slots for
 *   the times of a failed step; hstats[0..1] = min and max |h|; info: INFO_INTS ints. */
int fp_integrate(int n_nodes, const int *tape, const int *term_coef, const int *term_node,
                 int dim, const int *rhs, int n_const, const char **consts,
                 const char **y0, const char *t0_text, const char *te_text,
                 int n_out, const char **outs_text, int order, int prec, double ln_tol,
                 double safety, long max_steps, char *out, int slot_size, double *hstats,
                 int *info) {
    prog_t prog, *P = &prog;
    memset(P, 0, sizeof(prog));
    memset(info, 0, sizeof(int) * INFO_INTS);
    P->n_nodes = n_nodes; P->order = order; P->prec = prec;
    P->tape = tape; P->term_coef = term_coef; P->term_node = term_node;
    int len = order + 1;
    int status = ST_OK;
    mpfr_t **Y = calloc((size_t)dim + 1, sizeof(mpfr_t *));
    P->S = calloc((size_t)n_nodes, sizeof(mpfr_t *));
    P->D = calloc((size_t)n_nodes, sizeof(mpfr_t *));
    P->Z = calloc((size_t)n_nodes, sizeof(mpfr_t *));
    P->sig = calloc((size_t)n_nodes + 1, sizeof(int));
    P->n_tmp = len + 2;   /* a dot has at most order + 1 terms, a lin row nterms + 1 */
    for (int i = 0; i < n_nodes; i++)
        if (tape[i * NODE_INTS + F_NTERMS] + 2 > P->n_tmp) P->n_tmp = tape[i * NODE_INTS + F_NTERMS] + 2;
    P->ptr = calloc((size_t)P->n_tmp, sizeof(mpfr_ptr));
    P->tmp = new_series(P->n_tmp, prec);
    mpfr_init2(P->acc, prec);
    P->n_const = n_const;
    P->K = new_series(n_const + 1, prec);
    mpfr_t *outs = new_series(n_out + 1, prec);
    mpfr_t *y = new_series(dim + 1, prec);
    /* t, te, h, t_new, remaining, tau, value, scratch, norm, frac */
    mpfr_t *w = new_series(10, prec);
    mpz_t m;
    mpz_init(m);
    if (!Y || !P->S || !P->D || !P->Z || !P->sig || !P->ptr || !P->tmp || !P->K || !outs ||
        !y || !w) { status = ST_MEMORY; goto done; }
    mpfr_ptr t = w[0], te = w[1], h = w[2], t_new = w[3], remaining = w[4], tau = w[5],
             value = w[6], scratch = w[7], norm = w[8], frac = w[9];
    for (int s = 0; s < dim; s++) {
        if (!(Y[s] = new_series(len, prec))) { status = ST_MEMORY; goto done; }
    }
    for (int i = 0; i < n_nodes; i++) {
        int kind = P->tape[i * NODE_INTS + F_KIND];
        if (kind == K_VAR) P->S[i] = Y[P->tape[i * NODE_INTS + F_INDEX]];
        else if (kind != K_CONST && !(P->S[i] = new_series(len, prec))) { status = ST_MEMORY; goto done; }
        if (P->tape[i * NODE_INTS + F_NEED_D] && !(P->D[i] = new_series(len, prec))) { status = ST_MEMORY; goto done; }
        if ((kind == K_POW || kind == K_LOG || kind == K_SIN || kind == K_COS || kind == K_TANH)
            && !(P->Z[i] = new_series(len, prec))) { status = ST_MEMORY; goto done; }
    }
    for (int j = 0; j < n_const; j++) read_number(P->K[j], consts[j]);
    for (int s = 0; s < dim; s++) read_number(y[s], y0[s]);
    read_number(t, t0_text);
    read_number(te, te_text);
    for (int j = 0; j < n_out; j++) read_number(outs[j], outs_text[j]);

    int direction = mpfr_cmp(te, t) >= 0 ? 1 : -1;
    int oi = 0, n_written = 0;
    long steps = 0;
    double hmin = INFINITY, hmax = 0.0, ln2 = log(2.0);
    while (oi < n_out && mpfr_equal_p(outs[oi], t)) {
        for (int s = 0; s < dim; s++)
            write_number(out + (size_t)(n_written * dim + s) * slot_size, slot_size, y[s], m);
        n_written++; oi++;
    }
    while (!mpfr_equal_p(t, te)) {
        if (steps >= max_steps) { status = ST_MAX_STEPS; break; }
        for (int s = 0; s < dim; s++) mpfr_set(Y[s][0], y[s], MPFR_RNDN);
        mpfr_clear_flags();
        status = series(P, Y, rhs, dim);
        if (status == ST_DOMAIN) { info[I_NODE] = P->fail_node; info[I_CODE] = P->fail_code; break; }
        if (mpfr_nanflag_p() || mpfr_overflow_p() || mpfr_divby0_p()) { status = ST_ARITH; break; }
        /* Jorba-Zou step size from the last two coefficients */
        mpfr_set_zero(norm, 1);
        for (int s = 0; s < dim; s++) {
            mpfr_abs(scratch, y[s], MPFR_RNDN);
            if (mpfr_greater_p(scratch, norm)) mpfr_set(norm, scratch, MPFR_RNDN);
        }
        double ln_eps = ln_tol + (mpfr_cmp_ui(norm, 1) > 0 ? log_double(norm, scratch) : 0.0);
        double ln_h = INFINITY;
        int have = 0;
        for (int j = order - 1; j <= order; j++) {
            mpfr_set_zero(norm, 1);
            for (int s = 0; s < dim; s++) {
                mpfr_abs(scratch, Y[s][j], MPFR_RNDN);
                if (mpfr_greater_p(scratch, norm)) mpfr_set(norm, scratch, MPFR_RNDN);
            }
            if (mpfr_sgn(norm) > 0) {
                double c = (ln_eps - log_double(norm, scratch)) / j;
                if (!have || c < ln_h) ln_h = c;
                have = 1;
            }
        }
        mpfr_sub(remaining, te, t, MPFR_RNDN);
        mpfr_abs(remaining, remaining, MPFR_RNDN);
        double h_f = have ? (ln_h < 700 ? safety * exp(ln_h) : INFINITY) : INFINITY;
        if (!(h_f > 0) || h_f < 1e-300 ||
            (!mpfr_zero_p(t) && (mpfr_abs(scratch, t, MPFR_RNDN),
                                 log(h_f) + (prec - 8) * ln2 < log_double(scratch, scratch)))) {
            hstats[2] = h_f;
            status = ST_UNDERFLOW;
            break;
        }
        int last = mpfr_cmp_d(remaining, h_f) <= 0;
        if (last) {
            mpfr_sub(h, te, t, MPFR_RNDN);
            mpfr_set(t_new, te, MPFR_RNDN);
        } else {
            mpfr_set_d(h, h_f, MPFR_RNDN);
            mpfr_mul_si(h, h, direction, MPFR_RNDN);
            mpfr_add(t_new, t, h, MPFR_RNDN);
        }
        /* dense output inside the step */
        while (oi < n_out) {
            mpfr_sub(tau, outs[oi], t_new, MPFR_RNDN);
            if (mpfr_sgn(tau) * direction > 0) break;
            mpfr_sub(tau, outs[oi], t, MPFR_RNDN);
            for (int s = 0; s < dim; s++) {
                horner(value, Y[s], order, tau);
                write_number(out + (size_t)(n_written * dim + s) * slot_size, slot_size, value, m);
            }
            n_written++; oi++;
        }
        for (int s = 0; s < dim; s++) horner(y[s], Y[s], order, h);
        /* domain / fixed-sign monitors at h/4, h/2, 3h/4, h */
        for (int i = 0; i < n_nodes && status == ST_OK; i++) {
            int kind = NODE(i, F_KIND);
            if (kind != K_POW && kind != K_SQRT && kind != K_LOG && kind != K_ABS && kind != K_SIGN)
                continue;
            if (kind == K_POW && mpfr_integer_p(P->K[NODE(i, F_EXPONENT)])) continue;
            mpfr_t *xc = P->S[NODE(i, F_A)], *zc = P->S[i];
            /* a state series holds coefficients 0..p, a node's 0..p-1 */
            int px = NODE(NODE(i, F_A), F_KIND) == K_VAR ? order : order - 1;
            for (int q = 1; q <= 4; q++) {
                if (q == 1) mpfr_div_si(frac, h, 4, MPFR_RNDN);
                else if (q == 2) mpfr_div_si(frac, h, 2, MPFR_RNDN);
                else if (q == 3) { mpfr_mul_si(frac, h, 3, MPFR_RNDN); mpfr_div_si(frac, frac, 4, MPFR_RNDN); }
                else mpfr_set(frac, h, MPFR_RNDN);
                horner(value, xc, px, frac);
                int bad = 0, code = M_ARG;
                if (kind == K_ABS || kind == K_SIGN) {
                    bad = mpfr_zero_p(value) || (mpfr_sgn(value) > 0) != (P->sig[NODE(i, F_MONITOR)] > 0);
                    code = M_SIGN;
                } else {
                    bad = !(mpfr_sgn(value) > 0);
                    if (!bad && (kind == K_POW || kind == K_SQRT)) {
                        horner(value, zc, order - 1, frac);
                        if (!(mpfr_sgn(value) > 0)) { bad = 1; code = M_VALUE; }
                    }
                }
                if (bad) { status = ST_MONITOR; info[I_NODE] = i; info[I_CODE] = code; break; }
            }
        }
        if (status != ST_OK) {
            mpfr_add(scratch, t, h, MPFR_RNDN);
            write_number(out + (size_t)((n_out > 0 ? n_out : 1) * dim + 1) * slot_size, slot_size, scratch, m);
            break;
        }
        for (int s = 0; s < dim; s++) {
            if (!mpfr_number_p(y[s])) { status = ST_NONFINITE; info[I_COMPONENT] = s; break; }
        }
        if (status != ST_OK) break;
        double ha = (mpfr_abs(scratch, h, MPFR_RNDN), mpfr_get_d(scratch, MPFR_RNDN));
        if (ha < hmin) hmin = ha;
        if (ha > hmax) hmax = ha;
        mpfr_set(t, t_new, MPFR_RNDN);
        steps++;
    }
    if (status == ST_OK && n_out == 0) {
        for (int s = 0; s < dim; s++) write_number(out + (size_t)s * slot_size, slot_size, y[s], m);
        n_written = 1;
    }
    /* the time reached (the start of a failed step) */
    write_number(out + (size_t)((n_out > 0 ? n_out : 1) * dim) * slot_size, slot_size, t, m);
    hstats[0] = hmin;
    hstats[1] = hmax;
    info[I_STEPS] = (int)steps;
done:
    info[I_STATUS] = status;
    mpz_clear(m);
    if (Y) { for (int s = 0; s < dim; s++) free_series(Y[s], len); free(Y); }
    if (P->S) {
        for (int i = 0; i < n_nodes; i++) {
            int kind = tape[i * NODE_INTS + F_KIND];
            if (kind != K_VAR && kind != K_CONST) free_series(P->S[i], len);
        }
        free(P->S);
    }
    if (P->D) { for (int i = 0; i < n_nodes; i++) free_series(P->D[i], len); free(P->D); }
    if (P->Z) { for (int i = 0; i < n_nodes; i++) free_series(P->Z[i], len); free(P->Z); }
    free(P->sig);
    free(P->ptr);
    free_series(P->tmp, P->n_tmp);
    mpfr_clear(P->acc);
    free_series(P->K, n_const + 1);
    free_series(outs, n_out + 1);
    free_series(y, dim + 1);
    free_series(w, 10);
    return status;
}
