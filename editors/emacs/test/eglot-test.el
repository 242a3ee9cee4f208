;;; eglot-test.el --- batch end-to-end check of shape-lsp.el with Eglot  -*- lexical-binding: t; -*-
;; emacs -Q --batch -L editors/emacs -l editors/emacs/test/eglot-test.el
;; Environment: SHAPE_LSP_PY, SHAPE_LSP_FIXTURE, SHAPE_LSP_OUT (JSON results).

;; Emacs 29+ has Eglot built in; on 28, Debian's elpa-eglot installs it (and newer project/xref)
;; under /usr/share/emacs/site-lisp/elpa, which -Q does not put on the load-path.
(unless (locate-library "eglot")
  (dolist (dir (file-expand-wildcards "/usr/share/emacs/site-lisp/elpa/*"))
    (add-to-list 'load-path dir)))
(require 'eglot)
(require 'json)
(require 'flymake)
(require 'shape-lsp)

(defvar shape-test-results nil)
(defvar shape-test-bad-python nil)
(defun shape-test-put (key value) (push (cons key value) shape-test-results))
(defun shape-test-write ()
  (with-temp-file (getenv "SHAPE_LSP_OUT")
    (insert (json-encode shape-test-results))))

(defun shape-test-wait (pred seconds)
  "Spin the event loop until PRED is non-nil or SECONDS pass."
  (let ((deadline (+ (float-time) seconds)) v)
    (while (and (not (setq v (funcall pred))) (< (float-time) deadline))
      (accept-process-output nil 0.1))
    v))

(condition-case err
    (progn
      (setq shape-lsp-python (or (getenv "SHAPE_LSP_PY") "python3"))
      (setq shape-lsp-settings '(:verify (:device "cpu" :timeout 120)))
      (shape-lsp-eglot-setup)
      (shape-test-put 'eglot_version (if (boundp 'eglot--version) eglot--version "builtin"))
      (find-file (getenv "SHAPE_LSP_FIXTURE"))
      (python-mode)
      ;; `eglot-ensure' waits for the command loop, which batch mode lacks: connect directly.
      (apply #'eglot (eglot--guess-contact))
      (shape-test-put 'connected (and (shape-test-wait #'eglot-current-server 30) t))
      (shape-test-put
       'diagnostics
       (or (shape-test-wait
            (lambda ()
              (let ((ds (flymake-diagnostics)))
                (and ds (mapcar (lambda (d)
                                  (list (cons 'line (1- (line-number-at-pos (flymake-diagnostic-beg d))))
                                        (cons 'text (flymake-diagnostic-text d))))
                                ds))))
            30)
           []))
      ;; Hover on `x` in `x = self.features(x)`.
      (goto-char (point-min))
      (search-forward "x = self.features(x)")
      (beginning-of-line) (skip-chars-forward " ")
      (let ((hover (jsonrpc-request (eglot-current-server) :textDocument/hover
                                    (eglot--TextDocumentPositionParams))))
        (shape-test-put 'hover (plist-get (plist-get hover :contents) :value)))
      ;; Summary and verify with point inside class Net.
      (goto-char (point-min))
      (search-forward "def forward")
      (shape-test-put 'class_at_point (shape-lsp--class-at-point))
      (let ((buf (shape-lsp-summary (shape-lsp--class-at-point))))
        (shape-test-put 'summary (and (bufferp buf) (with-current-buffer buf (buffer-string)))))
      (let* ((opened nil)
             (shape-lsp-graph-open-function (lambda (p) (setq opened p)))
             (path (shape-lsp-graph (shape-lsp--class-at-point))))
        (shape-test-put 'graph_path (or path ""))
        (shape-test-put 'graph_opened (equal opened path))
        (shape-test-put 'graph_page (if (and path (file-readable-p path))
                                        (with-temp-buffer (insert-file-contents path) (buffer-string))
                                      "")))
      (let* ((t0 (float-time))
             (r (shape-lsp-verify "Net")))
        (shape-test-put 'verify_answer (plist-get r :status))
        (shape-test-put 'verify_answer_s (- (float-time) t0))
        (shape-test-wait (lambda () shape-lsp-last-verify) 180)
        (shape-test-put 'verify_status (plist-get shape-lsp-last-verify :status))
        (shape-test-put 'verify_model (plist-get shape-lsp-last-verify :model)))
      (when (getenv "SHAPE_LSP_EVENTS")
        (with-current-buffer (jsonrpc-events-buffer (eglot-current-server))
          (write-region (point-min) (point-max) (getenv "SHAPE_LSP_EVENTS"))))
      (eglot-shutdown (eglot-current-server)))
  (error (shape-test-put 'error (format "%S" err))))
;; An interpreter that cannot run the server: the error names it and the install command.
(condition-case err
    (dolist (py (list "/nonexistent/bin/python3" (getenv "SHAPE_LSP_NOSITE_PY")))
      (when py
        (let ((shape-lsp-python py))
          (condition-case e
              (progn (shape-lsp--command) (push (cons py "no error") shape-test-bad-python))
            (user-error (push (cons py (error-message-string e)) shape-test-bad-python))))))
  (error (shape-test-put 'error (format "%S" err))))
(shape-test-put 'bad_python shape-test-bad-python)
(shape-test-put 'done t)
(shape-test-write)
(kill-emacs 0)
;;; eglot-test.el ends here
