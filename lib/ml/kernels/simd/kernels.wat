;; Loupe's SIMD training kernels, run on the wasm backend's own heap (its memory is imported),
;; so tensors are read and written in place. Built into kernels-wasm.ts by
;; `npx tsx scripts/build-wasm-kernels.ts`. Every function needs c % 4 == 0; the callers check.
;; Pointers are byte offsets into the heap.
(module
  (import "env" "memory" (memory 1))

  ;; Per-channel sums over rows of two [rows, c] float32 arrays a and b, in float64:
  ;; out[j] = sum_r a[r, j], out[c + j] = sum_r a[r, j] * b[r, j]. out holds 2c float64.
  (func (export "chanSums")
    (param $a i32) (param $b i32) (param $rows i32) (param $c i32) (param $out i32)
    (local $p i32) (local $end i32) (local $rowEnd i32) (local $acc i32) (local $acc2 i32)
    (local $va v128) (local $vb v128) (local $lo v128) (local $hi v128) (local $blo v128) (local $bhi v128)
    (memory.fill (local.get $out) (i32.const 0) (i32.shl (local.get $c) (i32.const 4)))
    (local.set $end (i32.shl (i32.mul (local.get $rows) (local.get $c)) (i32.const 2)))
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $rowEnd (i32.add (local.get $p) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $acc (local.get $out))
        (local.set $acc2 (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 3))))
        (loop $chan
          (local.set $va (v128.load (i32.add (local.get $a) (local.get $p))))
          (local.set $vb (v128.load (i32.add (local.get $b) (local.get $p))))
          (local.set $lo (f64x2.promote_low_f32x4 (local.get $va)))
          (local.set $hi (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $va) (local.get $va))))
          (local.set $blo (f64x2.promote_low_f32x4 (local.get $vb)))
          (local.set $bhi (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vb) (local.get $vb))))
          (v128.store (local.get $acc) (f64x2.add (v128.load (local.get $acc)) (local.get $lo)))
          (v128.store offset=16 (local.get $acc) (f64x2.add (v128.load offset=16 (local.get $acc)) (local.get $hi)))
          (v128.store (local.get $acc2)
            (f64x2.add (v128.load (local.get $acc2)) (f64x2.mul (local.get $lo) (local.get $blo))))
          (v128.store offset=16 (local.get $acc2)
            (f64x2.add (v128.load offset=16 (local.get $acc2)) (f64x2.mul (local.get $hi) (local.get $bhi))))
          (local.set $acc (i32.add (local.get $acc) (i32.const 32)))
          (local.set $acc2 (i32.add (local.get $acc2) (i32.const 32)))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br_if $chan (i32.lt_u (local.get $p) (local.get $rowEnd))))
        (br $row))))

  ;; out[r, j] = A[j] * a[r, j] + B[j] * b[r, j] + C[j] over [rows, c] float32 arrays, with
  ;; coef holding A, B and C (3c float32). out may be a or b.
  (func (export "chanAffine")
    (param $a i32) (param $b i32) (param $rows i32) (param $c i32) (param $coef i32) (param $out i32)
    (local $p i32) (local $end i32) (local $rowEnd i32) (local $k i32) (local $cb i32)
    (local.set $end (i32.shl (i32.mul (local.get $rows) (local.get $c)) (i32.const 2)))
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $rowEnd (i32.add (local.get $p) (local.get $cb)))
        (local.set $k (local.get $coef))
        (loop $chan
          (v128.store (i32.add (local.get $out) (local.get $p))
            (f32x4.add
              (f32x4.add
                (f32x4.mul (v128.load (local.get $k)) (v128.load (i32.add (local.get $a) (local.get $p))))
                (f32x4.mul (v128.load (i32.add (local.get $k) (local.get $cb)))
                           (v128.load (i32.add (local.get $b) (local.get $p)))))
              (v128.load (i32.add (local.get $k) (i32.shl (local.get $cb) (i32.const 1))))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br_if $chan (i32.lt_u (local.get $p) (local.get $rowEnd))))
        (br $row))))

  ;; The gradient of a 2x2 max pool with stride 2 and no padding, x [n, h, w, c], dy
  ;; [n, oh, ow, c] (oh = h / 2 and ow = w / 2, rounded down), into dx [n, h, w, c]: each dy
  ;; goes to the first maximum of its window in row-major order (the cpu backend's rule), every
  ;; other position of dx is 0.
  (func (export "maxPoolGrad2x2")
    (param $x i32) (param $dy i32) (param $dx i32)
    (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $cb i32) (local $rowb i32)
    (local $base i32) (local $g i32) (local $j i32)
    (local $v00 v128) (local $v01 v128) (local $v10 v128) (local $v11 v128) (local $m v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128) (local $taken v128) (local $gv v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rowb (i32.mul (local.get $w) (local.get $cb)))
    (memory.fill (local.get $dx) (i32.const 0)
      (i32.mul (i32.mul (local.get $n) (local.get $h)) (local.get $rowb)))
    (local.set $g (local.get $dy))
    (block $bDone
      (loop $bLoop
        (br_if $bDone (i32.ge_u (local.get $b) (local.get $n)))
        (local.set $oy (i32.const 0))
        (block $yDone
          (loop $yLoop
            (br_if $yDone (i32.ge_u (local.get $oy) (local.get $oh)))
            (local.set $ox (i32.const 0))
            (block $xDone
              (loop $xLoop
                (br_if $xDone (i32.ge_u (local.get $ox) (local.get $ow)))
                ;; byte offset of the window's top-left corner
                (local.set $base
                  (i32.add
                    (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.shl (local.get $oy) (i32.const 1)))
                             (local.get $rowb))
                    (i32.mul (i32.shl (local.get $ox) (i32.const 1)) (local.get $cb))))
                (local.set $j (i32.const 0))
                (loop $chan
                  (local.set $v00 (v128.load (i32.add (local.get $x) (local.get $base))))
                  (local.set $v01 (v128.load (i32.add (i32.add (local.get $x) (local.get $base)) (local.get $cb))))
                  (local.set $v10 (v128.load (i32.add (i32.add (local.get $x) (local.get $base)) (local.get $rowb))))
                  (local.set $v11 (v128.load (i32.add (i32.add (i32.add (local.get $x) (local.get $base)) (local.get $rowb))
                                                      (local.get $cb))))
                  (local.set $m (f32x4.max (f32x4.max (local.get $v00) (local.get $v01))
                                           (f32x4.max (local.get $v10) (local.get $v11))))
                  (local.set $c00 (f32x4.ge (local.get $v00) (local.get $m)))
                  (local.set $c01 (v128.andnot (f32x4.ge (local.get $v01) (local.get $m)) (local.get $c00)))
                  (local.set $taken (v128.or (local.get $c00) (local.get $c01)))
                  (local.set $c10 (v128.andnot (f32x4.ge (local.get $v10) (local.get $m)) (local.get $taken)))
                  (local.set $taken (v128.or (local.get $taken) (local.get $c10)))
                  (local.set $c11 (v128.andnot (f32x4.ge (local.get $v11) (local.get $m)) (local.get $taken)))
                  (local.set $gv (v128.load (local.get $g)))
                  (v128.store (i32.add (local.get $dx) (local.get $base)) (v128.and (local.get $gv) (local.get $c00)))
                  (v128.store (i32.add (i32.add (local.get $dx) (local.get $base)) (local.get $cb))
                    (v128.and (local.get $gv) (local.get $c01)))
                  (v128.store (i32.add (i32.add (local.get $dx) (local.get $base)) (local.get $rowb))
                    (v128.and (local.get $gv) (local.get $c10)))
                  (v128.store (i32.add (i32.add (i32.add (local.get $dx) (local.get $base)) (local.get $rowb)) (local.get $cb))
                    (v128.and (local.get $gv) (local.get $c11)))
                  (local.set $g (i32.add (local.get $g) (i32.const 16)))
                  (local.set $base (i32.add (local.get $base) (i32.const 16)))
                  (local.set $j (i32.add (local.get $j) (i32.const 4)))
                  (br_if $chan (i32.lt_u (local.get $j) (local.get $c))))
                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                (br $xLoop)))
            (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
            (br $yLoop)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $bLoop))))

  ;; dst = (init ? 0 : dst) + weight * src over n float32 (n a multiple of 4).
  (func (export "weightedAdd")
    (param $dst i32) (param $src i32) (param $n i32) (param $weight f32) (param $init i32)
    (local $p i32) (local $end i32) (local $wv v128) (local $acc v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $wv (f32x4.splat (local.get $weight)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $acc
          (select (v128.const i32x4 0 0 0 0) (v128.load (i32.add (local.get $dst) (local.get $p))) (local.get $init)))
        (v128.store (i32.add (local.get $dst) (local.get $p))
          (f32x4.add (local.get $acc) (f32x4.mul (local.get $wv) (v128.load (i32.add (local.get $src) (local.get $p))))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $next))))

  ;; One Adam step over n float32 (n a multiple of 4), in place:
  ;; m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2, w -= step m / (sqrt(v) root + eps),
  ;; where the caller folds the bias corrections into step (lr / c1) and root (1 / sqrt(c2)).
  (func (export "adam")
    (param $w i32) (param $m i32) (param $v i32) (param $g i32) (param $n i32)
    (param $beta1 f32) (param $beta2 f32) (param $step f32) (param $root f32) (param $eps f32)
    (local $p i32) (local $end i32) (local $gv v128) (local $mv v128) (local $vv v128)
    (local $b1 v128) (local $b2 v128) (local $a1 v128) (local $a2 v128) (local $st v128) (local $rt v128) (local $ep v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $b1 (f32x4.splat (local.get $beta1)))
    (local.set $b2 (f32x4.splat (local.get $beta2)))
    (local.set $a1 (f32x4.splat (f32.sub (f32.const 1) (local.get $beta1))))
    (local.set $a2 (f32x4.splat (f32.sub (f32.const 1) (local.get $beta2))))
    (local.set $st (f32x4.splat (local.get $step)))
    (local.set $rt (f32x4.splat (local.get $root)))
    (local.set $ep (f32x4.splat (local.get $eps)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $p))))
        (local.set $mv (f32x4.add (f32x4.mul (local.get $b1) (v128.load (i32.add (local.get $m) (local.get $p))))
                                  (f32x4.mul (local.get $a1) (local.get $gv))))
        (local.set $vv (f32x4.add (f32x4.mul (local.get $b2) (v128.load (i32.add (local.get $v) (local.get $p))))
                                  (f32x4.mul (local.get $a2) (f32x4.mul (local.get $gv) (local.get $gv)))))
        (v128.store (i32.add (local.get $m) (local.get $p)) (local.get $mv))
        (v128.store (i32.add (local.get $v) (local.get $p)) (local.get $vv))
        (v128.store (i32.add (local.get $w) (local.get $p))
          (f32x4.sub (v128.load (i32.add (local.get $w) (local.get $p)))
            (f32x4.div (f32x4.mul (local.get $st) (local.get $mv))
                       (f32x4.add (f32x4.mul (f32x4.sqrt (local.get $vv)) (local.get $rt)) (local.get $ep)))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $next))))

  ;; The filter gradient of a 3x3 convolution with stride 1: out[ty, tx, c, o] = sum over b, y, x
  ;; of xp[b, y + ty, x + tx, c] * dy[b, y, x, o], where xp is the input padded by one pixel on
  ;; every side ([n, h + 2, w + 2, ci]) and dy is [n, h, w, co]; ci % 4 == 0 and co % 8 == 0.
  ;; A 4 x 8 block of out is held in eight registers while a chunk of dy's rows streams past
  ;; (rows from `rowStart` to `rowEnd`, each b * h + y); out accumulates over calls, so the
  ;; caller zeroes it once and calls chunk by chunk, which keeps a chunk in cache across blocks.
  (func (export "convFilterGrad3x3")
    (param $xp i32) (param $dy i32) (param $out i32) (param $h i32) (param $w i32) (param $ci i32) (param $co i32)
    (param $rowStart i32) (param $rowEnd i32)
    (local $t i32) (local $cb i32) (local $ob i32) (local $r i32) (local $x i32)
    (local $accAt i32) (local $rowOut i32) (local $xAt i32) (local $dAt i32) (local $xStep i32) (local $dStep i32)
    (local $a v128) (local $bl v128) (local $bh v128) (local $s v128)
    (local $acc0l v128) (local $acc0h v128) (local $acc1l v128) (local $acc1h v128)
    (local $acc2l v128) (local $acc2h v128) (local $acc3l v128) (local $acc3h v128)
    (local.set $rowOut (i32.shl (local.get $co) (i32.const 2)))
    (local.set $xStep (i32.shl (local.get $ci) (i32.const 2)))
    (local.set $dStep (local.get $rowOut))
    (loop $tap
      (local.set $cb (i32.const 0))
      (loop $cBlock
        (local.set $ob (i32.const 0))
        (loop $oBlock
          ;; out[t, cb + k, ob .. ob + 7] for k = 0..3
          (local.set $accAt
            (i32.add (local.get $out)
              (i32.shl
                (i32.add (i32.mul (i32.add (i32.mul (local.get $t) (local.get $ci)) (local.get $cb)) (local.get $co))
                         (local.get $ob))
                (i32.const 2))))
        (local.set $acc0l (v128.load offset=0 (i32.add (local.get $accAt) (i32.mul (i32.const 0) (local.get $rowOut)))))
        (local.set $acc0h (v128.load offset=16 (i32.add (local.get $accAt) (i32.mul (i32.const 0) (local.get $rowOut)))))
        (local.set $acc1l (v128.load offset=0 (i32.add (local.get $accAt) (i32.mul (i32.const 1) (local.get $rowOut)))))
        (local.set $acc1h (v128.load offset=16 (i32.add (local.get $accAt) (i32.mul (i32.const 1) (local.get $rowOut)))))
        (local.set $acc2l (v128.load offset=0 (i32.add (local.get $accAt) (i32.mul (i32.const 2) (local.get $rowOut)))))
        (local.set $acc2h (v128.load offset=16 (i32.add (local.get $accAt) (i32.mul (i32.const 2) (local.get $rowOut)))))
        (local.set $acc3l (v128.load offset=0 (i32.add (local.get $accAt) (i32.mul (i32.const 3) (local.get $rowOut)))))
        (local.set $acc3h (v128.load offset=16 (i32.add (local.get $accAt) (i32.mul (i32.const 3) (local.get $rowOut)))))
          (local.set $r (local.get $rowStart))
          (block $rowsDone
            (loop $row
              (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rowEnd)))
              ;; xp[b, y + ty, tx, cb] with b = r / h, y = r % h, ty = t / 3, tx = t % 3
              (local.set $xAt
                (i32.add (local.get $xp)
                  (i32.add
                    (i32.mul
                      (i32.add
                        (i32.mul
                          (i32.add
                            (i32.add (i32.mul (i32.div_u (local.get $r) (local.get $h)) (i32.add (local.get $h) (i32.const 2)))
                                     (i32.rem_u (local.get $r) (local.get $h)))
                            (i32.div_u (local.get $t) (i32.const 3)))
                          (i32.add (local.get $w) (i32.const 2)))
                        (i32.rem_u (local.get $t) (i32.const 3)))
                      (local.get $xStep))
                    (i32.shl (local.get $cb) (i32.const 2)))))
              (local.set $dAt
                (i32.add (local.get $dy)
                  (i32.add (i32.mul (i32.mul (local.get $r) (local.get $w)) (local.get $dStep))
                           (i32.shl (local.get $ob) (i32.const 2)))))
              (local.set $x (local.get $w))
              (loop $col
                (local.set $a (v128.load (local.get $xAt)))
                (local.set $bl (v128.load offset=0 (local.get $dAt)))
                (local.set $bh (v128.load offset=16 (local.get $dAt)))
                (local.set $s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $a) (local.get $a)))
                (local.set $acc0l (f32x4.add (local.get $acc0l) (f32x4.mul (local.get $s) (local.get $bl))))
                (local.set $acc0h (f32x4.add (local.get $acc0h) (f32x4.mul (local.get $s) (local.get $bh))))
                (local.set $s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $a) (local.get $a)))
                (local.set $acc1l (f32x4.add (local.get $acc1l) (f32x4.mul (local.get $s) (local.get $bl))))
                (local.set $acc1h (f32x4.add (local.get $acc1h) (f32x4.mul (local.get $s) (local.get $bh))))
                (local.set $s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $a) (local.get $a)))
                (local.set $acc2l (f32x4.add (local.get $acc2l) (f32x4.mul (local.get $s) (local.get $bl))))
                (local.set $acc2h (f32x4.add (local.get $acc2h) (f32x4.mul (local.get $s) (local.get $bh))))
                (local.set $s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $a) (local.get $a)))
                (local.set $acc3l (f32x4.add (local.get $acc3l) (f32x4.mul (local.get $s) (local.get $bl))))
                (local.set $acc3h (f32x4.add (local.get $acc3h) (f32x4.mul (local.get $s) (local.get $bh))))
                (local.set $xAt (i32.add (local.get $xAt) (local.get $xStep)))
                (local.set $dAt (i32.add (local.get $dAt) (local.get $dStep)))
                (local.set $x (i32.sub (local.get $x) (i32.const 1)))
                (br_if $col (local.get $x)))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br $row)))
        (v128.store offset=0 (i32.add (local.get $accAt) (i32.mul (i32.const 0) (local.get $rowOut))) (local.get $acc0l))
        (v128.store offset=16 (i32.add (local.get $accAt) (i32.mul (i32.const 0) (local.get $rowOut))) (local.get $acc0h))
        (v128.store offset=0 (i32.add (local.get $accAt) (i32.mul (i32.const 1) (local.get $rowOut))) (local.get $acc1l))
        (v128.store offset=16 (i32.add (local.get $accAt) (i32.mul (i32.const 1) (local.get $rowOut))) (local.get $acc1h))
        (v128.store offset=0 (i32.add (local.get $accAt) (i32.mul (i32.const 2) (local.get $rowOut))) (local.get $acc2l))
        (v128.store offset=16 (i32.add (local.get $accAt) (i32.mul (i32.const 2) (local.get $rowOut))) (local.get $acc2h))
        (v128.store offset=0 (i32.add (local.get $accAt) (i32.mul (i32.const 3) (local.get $rowOut))) (local.get $acc3l))
        (v128.store offset=16 (i32.add (local.get $accAt) (i32.mul (i32.const 3) (local.get $rowOut))) (local.get $acc3h))
          (local.set $ob (i32.add (local.get $ob) (i32.const 8)))
          (br_if $oBlock (i32.lt_u (local.get $ob) (local.get $co))))
        (local.set $cb (i32.add (local.get $cb) (i32.const 4)))
        (br_if $cBlock (i32.lt_u (local.get $cb) (local.get $ci))))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br_if $tap (i32.lt_u (local.get $t) (i32.const 9)))))

  ;; convFilterGrad3x3 for a single input channel (a first layer): out[ty, tx, 0, o], co % 8 == 0.
  ;; A row of three taps by 8 outputs is held in six registers; the taps' pixels are adjacent.
  (func (export "convFilterGrad3x3Single")
    (param $xp i32) (param $dy i32) (param $out i32) (param $h i32) (param $w i32) (param $co i32)
    (param $rowStart i32) (param $rowEnd i32)
    (local $ty i32) (local $ob i32) (local $r i32) (local $x i32)
    (local $accAt i32) (local $rowOut i32) (local $xAt i32) (local $dAt i32) (local $dStep i32)
    (local $bl v128) (local $bh v128) (local $s v128)
    (local $acc0l v128) (local $acc0h v128) (local $acc1l v128) (local $acc1h v128) (local $acc2l v128) (local $acc2h v128)
    (local.set $rowOut (i32.shl (local.get $co) (i32.const 2)))
    (local.set $dStep (local.get $rowOut))
    (loop $tapRow
      (local.set $ob (i32.const 0))
      (loop $oBlock
        ;; out[ty, tx, 0, ob .. ob + 7] for tx = 0..2
        (local.set $accAt
          (i32.add (local.get $out)
            (i32.shl (i32.add (i32.mul (i32.mul (local.get $ty) (i32.const 3)) (local.get $co)) (local.get $ob))
                     (i32.const 2))))
          (local.set $acc0l (v128.load offset=0 (i32.add (local.get $accAt) (i32.mul (i32.const 0) (local.get $rowOut)))))
          (local.set $acc0h (v128.load offset=16 (i32.add (local.get $accAt) (i32.mul (i32.const 0) (local.get $rowOut)))))
          (local.set $acc1l (v128.load offset=0 (i32.add (local.get $accAt) (i32.mul (i32.const 1) (local.get $rowOut)))))
          (local.set $acc1h (v128.load offset=16 (i32.add (local.get $accAt) (i32.mul (i32.const 1) (local.get $rowOut)))))
          (local.set $acc2l (v128.load offset=0 (i32.add (local.get $accAt) (i32.mul (i32.const 2) (local.get $rowOut)))))
          (local.set $acc2h (v128.load offset=16 (i32.add (local.get $accAt) (i32.mul (i32.const 2) (local.get $rowOut)))))
        (local.set $r (local.get $rowStart))
        (block $rowsDone
          (loop $row
            (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rowEnd)))
            ;; xp[b, y + ty, 0] with b = r / h, y = r % h
            (local.set $xAt
              (i32.add (local.get $xp)
                (i32.shl
                  (i32.mul
                    (i32.add
                      (i32.add (i32.mul (i32.div_u (local.get $r) (local.get $h)) (i32.add (local.get $h) (i32.const 2)))
                               (i32.rem_u (local.get $r) (local.get $h)))
                      (local.get $ty))
                    (i32.add (local.get $w) (i32.const 2)))
                  (i32.const 2))))
            (local.set $dAt
              (i32.add (local.get $dy)
                (i32.add (i32.mul (i32.mul (local.get $r) (local.get $w)) (local.get $dStep))
                         (i32.shl (local.get $ob) (i32.const 2)))))
            (local.set $x (local.get $w))
            (loop $col
              (local.set $bl (v128.load offset=0 (local.get $dAt)))
              (local.set $bh (v128.load offset=16 (local.get $dAt)))
                (local.set $s (v128.load32_splat offset=0 (local.get $xAt)))
                (local.set $acc0l (f32x4.add (local.get $acc0l) (f32x4.mul (local.get $s) (local.get $bl))))
                (local.set $acc0h (f32x4.add (local.get $acc0h) (f32x4.mul (local.get $s) (local.get $bh))))
                (local.set $s (v128.load32_splat offset=4 (local.get $xAt)))
                (local.set $acc1l (f32x4.add (local.get $acc1l) (f32x4.mul (local.get $s) (local.get $bl))))
                (local.set $acc1h (f32x4.add (local.get $acc1h) (f32x4.mul (local.get $s) (local.get $bh))))
                (local.set $s (v128.load32_splat offset=8 (local.get $xAt)))
                (local.set $acc2l (f32x4.add (local.get $acc2l) (f32x4.mul (local.get $s) (local.get $bl))))
                (local.set $acc2h (f32x4.add (local.get $acc2h) (f32x4.mul (local.get $s) (local.get $bh))))
              (local.set $xAt (i32.add (local.get $xAt) (i32.const 4)))
              (local.set $dAt (i32.add (local.get $dAt) (local.get $dStep)))
              (local.set $x (i32.sub (local.get $x) (i32.const 1)))
              (br_if $col (local.get $x)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $row)))
          (v128.store offset=0 (i32.add (local.get $accAt) (i32.mul (i32.const 0) (local.get $rowOut))) (local.get $acc0l))
          (v128.store offset=16 (i32.add (local.get $accAt) (i32.mul (i32.const 0) (local.get $rowOut))) (local.get $acc0h))
          (v128.store offset=0 (i32.add (local.get $accAt) (i32.mul (i32.const 1) (local.get $rowOut))) (local.get $acc1l))
          (v128.store offset=16 (i32.add (local.get $accAt) (i32.mul (i32.const 1) (local.get $rowOut))) (local.get $acc1h))
          (v128.store offset=0 (i32.add (local.get $accAt) (i32.mul (i32.const 2) (local.get $rowOut))) (local.get $acc2l))
          (v128.store offset=16 (i32.add (local.get $accAt) (i32.mul (i32.const 2) (local.get $rowOut))) (local.get $acc2h))
        (local.set $ob (i32.add (local.get $ob) (i32.const 8)))
        (br_if $oBlock (i32.lt_u (local.get $ob) (local.get $co))))
      (local.set $ty (i32.add (local.get $ty) (i32.const 1)))
      (br_if $tapRow (i32.lt_u (local.get $ty) (i32.const 3)))))
)
